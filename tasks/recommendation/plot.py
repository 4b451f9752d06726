"""Pictures of the recommender: which past items the model looked at, and what it recommends.

* :func:`plot_history_attention` — a shopper's history with the attention of the last position
  over it (left) and the top-k recommendations with their scores (right).
* :func:`attention_views` — the full attention of a recommender directory on one history (used
  by ``minitransformer plot attention --model DIR --input "ITEM ITEM ..."``).

matplotlib is optional (``pip install minitransformer[plot]``); it is imported only when a
picture is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from minitransformer.pictures.plotting import new_figure, save_figure, text_style

__all__ = ["plot_history_attention", "attention_views"]


def plot_history_attention(path: str | Path, history: Sequence[str], weights: Sequence[float],
                           recommendations: Sequence[tuple[str, float]], *, title: str | None = None) -> Path:
    """Left: the history (oldest at the top), each item's bar the attention the predicting
    position gave it. Right: the recommended items, best at the top, with their scores.

    The predicting position is the last one (SASRec: the most recent item; BERT4Rec: the
    ``[MASK]`` appended after it); its attention, averaged over the heads of the last layer,
    says which past items the recommendation was built from — often the most recent ones, or
    older items of the same kind.

    Args:
        history: item labels, oldest first.
        weights: ``(len(history),)`` attention of the last position over the history.
        recommendations: ``[(item label, score), ...]``, best first.
    """
    history = [str(item) for item in history]
    w = np.asarray(weights.detach().cpu() if hasattr(weights, "detach") else weights, dtype=np.float64)
    if not history:
        raise ValueError("history: expected at least one item")
    if w.shape != (len(history),):
        raise ValueError(f"weights: expected one weight per history item ({len(history)}), "
                         f"got shape {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("weights: expected non-negative, finite attention weights")
    recs = [(str(label), float(score)) for label, score in recommendations]
    if not recs:
        raise ValueError("recommendations: expected at least one (item, score) pair")
    height = 1.2 + 0.28 * max(len(history), len(recs))
    with text_style([*history, *(r for r, _ in recs), title or ""]):
        fig = new_figure(10, height)
        left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
        rows = np.arange(len(history))
        left.barh(rows, w, color="tab:blue")
        left.set_yticks(rows, [f"{i + 1}. {item}" for i, item in enumerate(history)], fontsize=7)
        left.invert_yaxis()  # oldest at the top, the most recent item just above the axis
        left.set_xlabel("attention of the predicting position")
        left.set_title("history (oldest first)", fontsize=10)
        ranks = np.arange(len(recs))
        right.barh(ranks, [s for _, s in recs], color="tab:orange")
        right.set_yticks(ranks, [f"{i + 1}. {item}" for i, (item, _) in enumerate(recs)], fontsize=7)
        right.invert_yaxis()
        right.set_xlabel("score")
        right.set_title(f"top-{len(recs)} recommendations", fontsize=10)
        if title:
            fig.suptitle(title)
        return save_figure(fig, path)


def attention_views(model_dir: str | Path, text: str):
    """The encoder's attention of a recommender directory over a history of raw item ids.

    ``text`` holds the item ids as in the training file, oldest first; unknown ids are left
    out (the title says how many), the most recent ``max_len`` items are kept, and BERT4Rec
    gets its ``[MASK]`` appended, as in ``recommend predict``.
    """
    import torch

    from minitransformer import record_attention
    from minitransformer.pictures.attention_views import AttentionView
    from tasks.recommendation.model import load

    model = load(model_dir)
    item_map = model.item_map
    tokens = text.split()
    history, unknown = item_map.encode(tokens)
    if not history:
        raise ValueError(f"--input: none of its {len(tokens)} item id(s) is known to the model in "
                         f"{model_dir}")
    items = model.prepare_history([history])  # (1, T), [MASK] last for BERT4Rec
    with torch.no_grad(), record_attention(model) as maps:
        hidden = model(items)  # (1, T, D)
    scores = model.item_scores(hidden[:, -1], model.previous_items(items)[:, -1])[0]  # (N + 2,)
    scores[0] = scores[model.config.mask_id] = float("-inf")
    scores[torch.tensor(history)] = float("-inf")
    top = [item_map.token(int(i)) for i in torch.topk(scores, min(3, len(item_map))).indices
           if torch.isfinite(scores[i])]
    labels = ["[MASK]" if i == model.config.mask_id else item_map.token(i) for i in items[0].tolist()]
    shown = sum(label != "[MASK]" for label in labels)
    notes = [f"the last {shown} of {len(history)} known items" if shown < len(history)
             else f"{len(history)} item(s)"]
    notes += [f"{len(unknown)} unknown item(s) left out"] if unknown else []
    notes += [f"next: {', '.join(top)}"] if top else []
    title = f"{model.config.kind}: " + "; ".join(notes)
    return [AttentionView("encoder", dict(maps), labels, labels, title)]
