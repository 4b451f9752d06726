"""Evaluation protocols for next-item recommendation.

A *scorer* maps a batch of histories to scores over the vocabulary: ``scorer(histories) ->
(B, N + 2)`` (column 0 = padding and column N + 1 = [MASK] are never candidates). Models and
baselines are scorers, so every number below is computed by the same code.

* ``full`` (default): the target is ranked against **all** N items; items already in the
  user's history are excluded (a shop does not recommend what was just bought) -- the target
  itself always stays a candidate.
* ``sampled``: the target is ranked against ``negatives`` (100) items drawn, without
  replacement and with a fixed seed, from the items the user has *not* interacted with,
  uniformly or in proportion to their training popularity. Sampled numbers are much higher
  than full-ranking ones and rank models less reliably (Krichene & Rendle, KDD 2020); they are
  reported because older papers use them.

Both give a rank per user (see :func:`minitransformer.metrics.ranking.rank_of_target`, ties are
broken at random with a fixed seed) and then HR@K, NDCG@K (K = 5, 10, 20) and MRR.

:func:`evaluate` (the head's verb) scores a trained model and, beside it, the two baselines of
:mod:`tasks.recommendation.baselines`; :func:`table_rows` writes the results as the Markdown
rows that ``recommend train`` and ``recommend evaluate`` print.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from minitransformer.metrics.ranking import rank_of_target, ranking_report
from tasks.recommendation.baselines import item_counts, most_popular_scorer, transition_scorer
from tasks.recommendation.data import EvalSet, Split, load_split

__all__ = ["PROTOCOLS", "Scorer", "evaluate", "evaluate_with_baselines", "evaluate_ranking", "history_mask",
           "model_scorer", "table_rows", "TABLE_HEADER"]

PROTOCOLS = ("full", "sampled")
SPLITS = ("test", "valid")
METRIC_COLUMNS = ("HR@5", "NDCG@5", "HR@10", "NDCG@10", "HR@20", "NDCG@20", "MRR")
#: the header of :func:`table_rows`' Markdown table
TABLE_HEADER = ("| model | protocol | users | " + " | ".join(METRIC_COLUMNS) + " |",
                "|---|---|---|" + "---|" * len(METRIC_COLUMNS))
Scorer = Callable[[list[list[int]]], torch.Tensor]


def history_mask(histories: list[list[int]], vocab_size: int) -> torch.Tensor:
    """(B, V) bool, True at every item of each history and at the padding id 0."""
    mask = torch.zeros(len(histories), vocab_size, dtype=torch.bool)
    for row, history in enumerate(histories):
        if history:
            mask[row, torch.tensor(history, dtype=torch.long)] = True
    mask[:, 0] = True
    return mask


def model_scorer(model: torch.nn.Module, part: str = "all") -> Scorer:
    """A scorer that runs ``model.next_item_scores`` in eval mode without gradients; ``part``
    (``"transformer"`` or ``"prior"``): one part of a model with the transition prior alone."""
    def score(histories: list[list[int]]) -> torch.Tensor:
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                scores = model.next_item_scores(histories) if part == "all" else \
                    model.next_item_scores(histories, part=part)
                return scores.float().cpu()
        finally:
            model.train(was_training)
    return score


def evaluate_ranking(scorer: Scorer, inputs: list[list[int]], targets: list[int], num_items: int,
                     protocol: str = "full", negatives: int = 100, sampling: str = "uniform",
                     popularity: torch.Tensor | None = None, exclude_history: bool = True,
                     seed: int = 0, batch_size: int = 256) -> dict[str, float | str | int]:
    """Rank every user's target and return ``{"protocol", "users", "HR@K", "NDCG@K", "MRR"}``."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"--protocol: expected one of {PROTOCOLS}, got {protocol!r}")
    if sampling not in ("uniform", "popularity"):
        raise ValueError(f"sampling: expected 'uniform' or 'popularity', got {sampling!r}")
    if protocol == "sampled" and negatives > num_items - 1:
        raise ValueError(f"negatives: {negatives} requested but only {num_items} items exist")
    vocab = num_items + 2
    generator = torch.Generator().manual_seed(seed)
    ranks = []
    for start in range(0, len(targets), batch_size):
        histories = inputs[start:start + batch_size]
        target = torch.tensor(targets[start:start + batch_size], dtype=torch.long)  # (B,)
        scores = scorer(histories)[:, :vocab].float()  # (B, V)
        excluded = (history_mask(histories, vocab) if exclude_history
                    else torch.zeros_like(scores, dtype=torch.bool))  # (B, V)
        excluded[:, 0] = True
        excluded[:, num_items + 1] = True  # [MASK]
        if protocol == "full":
            ranks.append(rank_of_target(scores, target, excluded, generator=generator))
            continue
        ranks.append(_sampled_ranks(scores, target, histories, vocab, negatives, sampling, popularity,
                                    generator))
    report: dict[str, float | str | int] = {"protocol": protocol if protocol == "full"
                                            else f"sampled-{negatives}-{sampling}",
                                            "users": len(targets)}
    all_ranks = torch.cat(ranks) if ranks else torch.zeros(0, dtype=torch.long)
    report.update(ranking_report(all_ranks))
    return report


def _sampled_ranks(scores, target, histories, vocab, negatives, sampling, popularity, generator):
    """Rank the target among ``negatives`` items the user never interacted with."""
    interacted = history_mask(histories, vocab)  # (B, V) including padding
    interacted[torch.arange(len(target)), target] = True
    interacted[:, vocab - 1] = True  # [MASK]
    if sampling == "popularity":
        if popularity is None:
            raise ValueError("sampling='popularity' needs the training item counts (popularity)")
        weights = popularity[:vocab].float().clamp_min(1e-6).expand(len(target), -1).clone()
    else:
        weights = torch.ones(len(target), vocab)
    weights[interacted] = 0.0
    negative_ids = torch.multinomial(weights, negatives, replacement=False, generator=generator)  # (B, n)
    candidates = torch.cat([target.view(-1, 1), negative_ids], dim=1)  # (B, 1 + n), target first
    candidate_scores = scores.gather(1, candidates)  # (B, 1 + n)
    return rank_of_target(candidate_scores, torch.zeros_like(target), generator=generator)


def evaluate_with_baselines(model, split: Split, evalset: EvalSet, protocol: str = "full",
                            negatives: int = 100, sampling: str = "uniform",
                            baselines: bool = True, seed: int = 0, batch_size: int = 256) -> dict[str, dict]:
    """``{name: report}`` for the model (named by its kind), for a model with the transition
    prior each of its parts alone (``"sasrec: Transformer alone"``: the trained Transformer's
    ``H E^T``; ``"sasrec: counts alone"``: the fitted counts), and, with ``baselines``, the
    most-popular and item-to-item scorers, all on ``evalset`` (``split.test`` or ``split.valid``).

    The baselines count what is known before the scored item: on the test split that includes
    every user's validation item (the sequences of the final fit), on the validation split not."""
    known = split.refit_sequences() if evalset is split.test else split.train
    popularity = item_counts(known, split.num_items)
    scorers = [(model.config.kind, model_scorer(model))]
    if getattr(model.config, "prior_items", 0):  # what each part of the mix scores alone
        scorers += [(f"{model.config.kind}: {name}", model_scorer(model, part))
                    for name, part in (("Transformer alone", "transformer"), ("counts alone", "prior"))]
    if baselines:
        scorers += [("most-popular", most_popular_scorer(known, split.num_items)),
                    ("item-to-item", transition_scorer(known, split.num_items))]
    return {name: evaluate_ranking(scorer, evalset.inputs, evalset.targets, split.num_items, protocol,
                                   negatives, sampling, popularity, seed=seed, batch_size=batch_size)
            for name, scorer in scorers}


def evaluate(model, data, *, protocol: str = "full", split: str = "test", negatives: int = 100,
             sampling: str = "uniform", baselines: bool = True, format: str = "auto", seed: int = 0,
             batch_size: int = 256) -> dict[str, dict]:
    """Score a trained recommender (from ``load`` or ``train``) on the ``split`` users of ``data``,
    beside the most-popular and item-to-item baselines.

    Args:
        model: a :class:`~tasks.recommendation.model.SequentialRecommender` with its ``item_map``.
        data: an interaction file or folder (read in ``format``; items the model does not know
            are dropped), or a :class:`~tasks.recommendation.data.Split` in the model's item ids.
        protocol: ``"full"`` (every item, the history excluded) or ``"sampled"`` (``negatives``
            items drawn ``"uniform"``-ly or by ``"popularity"``).
        split: ``"test"`` (each user's last item) or ``"valid"`` (the one before).
        seed: draws the sampled negatives and breaks ties; ``batch_size``: users scored at once.

    A CSV must hold the columns the model was trained from (a file with other columns is refused,
    naming what is missing and what is extra); every argument is checked before any work.

    Returns ``{name: report}`` -- the model first (named by its kind), with the transition prior
    its two parts alone (``"sasrec: Transformer alone"``, ``"sasrec: counts alone"``), then
    ``"most-popular"`` and ``"item-to-item"`` (without ``baselines``: no baselines); a report holds
    ``"protocol"``, ``"users"``, ``HR@K`` and ``NDCG@K`` (K = 5, 10, 20) and ``"MRR"``.

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
        >>> results = rec.evaluate(run.model, folder / "shop.csv")
        >>> list(results), results["sasrec"]["protocol"], results["sasrec"]["users"]
        (['sasrec', 'most-popular', 'item-to-item'], 'full', 150)
        >>> 0.0 <= results["sasrec"]["NDCG@10"] <= results["sasrec"]["HR@10"] <= 1.0
        True
    """
    if split not in SPLITS:
        raise ValueError(f"split: expected 'test' or 'valid', got {split!r}")
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol: expected one of {PROTOCOLS}, got {protocol!r}")
    if sampling not in ("uniform", "popularity"):
        raise ValueError(f"sampling: expected 'uniform' or 'popularity', got {sampling!r}")
    for name, value, low in (("negatives", negatives, 1), ("batch_size", batch_size, 1), ("seed", seed, 0)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            expected = "a positive integer" if low else "an integer >= 0"
            raise ValueError(f"{name}: expected {expected}, got {value!r}")
    if getattr(model, "item_map", None) is None:
        raise ValueError("model: expected a trained recommender from load or train (with its item map)")
    loaded = data if isinstance(data, Split) else load_split(data, format, item_map=model.item_map)
    evalset = loaded.test if split == "test" else loaded.valid
    if len(evalset) == 0:
        raise ValueError(f"{data}: no user with 3 or more known items to evaluate")
    return evaluate_with_baselines(model, loaded, evalset, protocol, negatives, sampling, baselines,
                                   seed, batch_size)


def table_rows(results: dict[str, dict]) -> list[str]:
    """One Markdown row per scorer of :func:`evaluate`'s results (below :data:`TABLE_HEADER`).

    Examples:
        >>> table_rows({"most-popular": {"protocol": "full", "users": 2, "HR@5": 0.5, "NDCG@5": 0.25,
        ...             "HR@10": 1.0, "NDCG@10": 0.4, "HR@20": 1.0, "NDCG@20": 0.4, "MRR": 0.3}})
        ['| most-popular | full | 2 | 0.5000 | 0.2500 | 1.0000 | 0.4000 | 1.0000 | 0.4000 | 0.3000 |']
    """
    return [f"| {name} | {report['protocol']} | {report['users']} | "
            + " | ".join(f"{report[key]:.4f}" for key in METRIC_COLUMNS) + " |"
            for name, report in results.items()]
