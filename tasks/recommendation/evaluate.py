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
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from minitransformer.metrics.ranking import rank_of_target, ranking_report

__all__ = ["PROTOCOLS", "Scorer", "evaluate_ranking", "history_mask", "model_scorer"]

PROTOCOLS = ("full", "sampled")
Scorer = Callable[[list[list[int]]], torch.Tensor]


def history_mask(histories: list[list[int]], vocab_size: int) -> torch.Tensor:
    """(B, V) bool, True at every item of each history and at the padding id 0."""
    mask = torch.zeros(len(histories), vocab_size, dtype=torch.bool)
    for row, history in enumerate(histories):
        if history:
            mask[row, torch.tensor(history, dtype=torch.long)] = True
    mask[:, 0] = True
    return mask


def model_scorer(model: torch.nn.Module) -> Scorer:
    """A scorer that runs ``model.next_item_scores`` in eval mode without gradients."""
    def score(histories: list[list[int]]) -> torch.Tensor:
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                return model.next_item_scores(histories).float().cpu()
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
