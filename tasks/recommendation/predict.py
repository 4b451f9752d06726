"""Recommendations for one shopper's history, and the history items the model looked at.

* :func:`predict` (the head's verb) -- the top-k next items for a history of the shop's own
  item ids, with their scores ``H_T · E[i]`` (the predicting position's hidden state against
  each item's embedding; with the transition prior ``λ H_T · E[i]`` plus the weighted log-counts
  of the last items, :mod:`tasks.recommendation.transitions`). Items the shopper already has
  are left out unless ``include_history``; padding and ``[MASK]`` never count as items.
* :func:`attended_items` -- the attention of the predicting position in the last layer (mean
  of the heads) over the history items: which past purchases the recommendation was built from.

The predicting position is the last one: the most recent item (SASRec) or the ``[MASK]``
appended after it (BERT4Rec). Item ids the model does not know are skipped; a history with no
known item is an error.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from minitransformer import record_attention

__all__ = ["predict", "attended_items", "known_history"]


def known_history(model, history: str | Sequence[str]) -> list[int]:
    """The model ids of the known items of ``history`` (a string ``"ITEM ITEM ..."`` or a list of
    item ids, oldest first); a ``ValueError`` when none is known."""
    if getattr(model, "item_map", None) is None:
        raise ValueError("model: expected a trained recommender from load or train (with its item map)")
    if not isinstance(history, (str, Sequence)):
        raise ValueError(f"history: expected item ids as a string or a list, got {type(history).__name__}")
    tokens = history.split() if isinstance(history, str) else [str(t) for t in history]
    ids, _ = model.item_map.encode(tokens)
    if not ids:
        raise ValueError(f"history: none of its {len(tokens)} item(s) is known to the model")
    return ids


def predict(model, history: str | Sequence[str], k: int = 10, *,
            include_history: bool = False) -> list[tuple[str, float]]:
    """The ``k`` best next items after ``history`` as ``[(item id, score), ...]``, best first.

    ``model`` comes from ``load`` or ``train`` (it carries the item map); fewer than ``k`` come
    back when the catalogue has fewer candidates.

    Examples:
        >>> import tempfile
        >>> from pathlib import Path
        >>> import tasks.recommendation as rec
        >>> from tasks.recommendation.synthetic import ShopConfig, write_purchases
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = write_purchases(folder / "shop.csv", ShopConfig.for_items(48, users=150))
        >>> config = rec.RecommenderConfig(max_len=12, encoder=rec.encoder_config(d_model=16, num_layers=1))
        >>> settings = rec.TrainSettings(epochs=1, eval_users=50, final_epochs=0)
        >>> run = rec.train(folder / "shop.csv", folder / "model", config, settings=settings, verbose=False)
        >>> top = rec.predict(run.model, "phone-01 case-01", k=3)
        >>> len(top), all(isinstance(item, str) and isinstance(score, float) for item, score in top)
        (3, True)
        >>> "phone-01" in dict(top), top[0][1] >= top[1][1] >= top[2][1]
        (False, True)
    """
    if not isinstance(k, int) or isinstance(k, bool) or k <= 0:
        raise ValueError(f"k: expected a positive integer, got {k!r}")
    ids = known_history(model, history)
    with torch.no_grad():
        scores = model.next_item_scores([ids])[0]  # (N + 2,)
    scores[0] = scores[model.config.mask_id] = float("-inf")
    if not include_history:
        scores[torch.tensor(ids)] = float("-inf")
    top = torch.topk(scores, min(k, int(torch.isfinite(scores).sum())))
    return [(model.item_map.token(int(i)), float(s)) for s, i in zip(top.values, top.indices)]


def attended_items(model, history: str | Sequence[str], top: int = 5) -> list[tuple[str, int, float]]:
    """The ``top`` history items the predicting position attended to most in the last layer (mean
    of the heads), as ``[(item id, position in the known history from 1, weight), ...]``.

    Only the items the model read count: the last ``max_len`` known items (BERT4Rec: one fewer,
    for the ``[MASK]``)."""
    ids = known_history(model, history)
    with torch.no_grad(), record_attention(model) as maps:
        model.next_item_scores([ids])
    last_layer = maps[f"encoder.layers.{model.config.encoder.num_layers - 1}.self_attn"][0]  # (H, T, T)
    weights = last_layer[:, -1].mean(0)  # (T,)
    shown = ids[-(weights.numel() - (0 if model.causal else 1)):]
    weights = weights[: len(shown)] if model.causal else weights[:-1][-len(shown):]
    first = len(ids) - len(shown) + 1
    items = [(model.item_map.token(i), first + p, float(w)) for p, (i, w) in enumerate(zip(shown, weights))]
    ranked = sorted(items, key=lambda entry: -entry[2])
    return ranked[:top]
