"""Ranking metrics for next-item recommendation: HR@K, NDCG@K, MRR.

Each test user has exactly one relevant item (the held-out next item). A model scores every
candidate item; the **rank** of the target is its 0-based position in the sorted list::

    rank = #{items j != target : s_j > s_target}  (+ ties, see below)

From the ranks ``r_u`` of ``U`` users (one relevant item each):

    HR@K   = 1/U Σ_u [r_u < K]                       (= Recall@K with one relevant item)
    NDCG@K = 1/U Σ_u [r_u < K] / log2(r_u + 2)       (the ideal DCG is 1/log2(2) = 1)
    MRR    = 1/U Σ_u 1 / (r_u + 1)                   (no cut-off)

**Ties.** A model that gives every item the same score must not look perfect. Counting only the
items that score *strictly* higher would give it rank 0 (HR@10 = 1). Ties are therefore counted
against the target: ``ties="pessimistic"`` puts the target after all of them (rank = higher +
ties), ``ties="random"`` (the default) puts it at a uniformly random place among them
(rank = higher + Uniform{0..ties}), which is the expected result of an arbitrary tie-break
and gives a constant model exactly the chance level HR@K = K/N. Random tie-breaks are drawn
from ``generator`` (a fixed seed when none is given), so evaluations are repeatable.

**Excluded items.** ``exclude_mask`` (B, N), True = never a candidate (items already in the
user's history, the padding id). Excluded items do not count as scoring higher. The target
itself is never excluded.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

__all__ = ["rank_of_target", "hit_rate_at_k", "ndcg_at_k", "mrr", "ranking_report"]


def rank_of_target(scores: torch.Tensor, target: torch.Tensor, exclude_mask: torch.Tensor | None = None,
                   ties: str = "random", generator: torch.Generator | None = None) -> torch.Tensor:
    """0-based rank of ``target`` (B,) among the columns of ``scores`` (B, N) -> LongTensor (B,).

    ``ties``: ``"random"`` (default) or ``"pessimistic"``, see the module docstring.
    """
    if scores.dim() != 2:
        raise ValueError(f"scores must be (B, N), got shape {tuple(scores.shape)}")
    if target.shape != scores.shape[:1]:
        raise ValueError(f"target must be (B,) = ({scores.size(0)},), got shape {tuple(target.shape)}")
    if ties not in ("random", "pessimistic"):
        raise ValueError(f"ties must be 'random' or 'pessimistic', got {ties!r}")
    if bool((target < 0).any()) or bool((target >= scores.size(1)).any()):
        raise ValueError(f"target ids must lie in [0, {scores.size(1)})")
    scores = scores.float()
    target_score = scores.gather(1, target.view(-1, 1))  # (B, 1)
    candidate = torch.ones_like(scores, dtype=torch.bool)  # (B, N)
    if exclude_mask is not None:
        if exclude_mask.shape != scores.shape:
            raise ValueError(f"exclude_mask must have the shape of scores {tuple(scores.shape)}, "
                             f"got {tuple(exclude_mask.shape)}")
        candidate = ~exclude_mask.bool()
    candidate = candidate.scatter(1, target.view(-1, 1), False)  # the target is not its own rival
    higher = ((scores > target_score) & candidate).sum(dim=1)  # (B,)
    tied = ((scores == target_score) & candidate).sum(dim=1)  # (B,)
    if ties == "pessimistic":
        return higher + tied
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    # uniform integer in [0, tied] for every row
    offset = (torch.rand(tied.shape, generator=generator) * (tied + 1).float().cpu()).long()
    return higher + torch.minimum(offset.to(tied.device), tied)


def _check_k(k: int) -> None:
    if not isinstance(k, int) or k <= 0:
        raise ValueError(f"k must be a positive integer, got {k!r}")


def hit_rate_at_k(ranks: torch.Tensor, k: int) -> float:
    """HR@K = Recall@K: the share of users whose target ranks in the top ``k``."""
    _check_k(k)
    if ranks.numel() == 0:
        return math.nan
    return (ranks < k).float().mean().item()


def ndcg_at_k(ranks: torch.Tensor, k: int) -> float:
    """NDCG@K with one relevant item per user: mean of ``1 / log2(rank + 2)`` over hits."""
    _check_k(k)
    if ranks.numel() == 0:
        return math.nan
    # BEGIN EXERCISE 7.1
    ranks = ranks.double()
    gains = 1.0 / torch.log2(ranks + 2.0)  # DCG of one relevant item at 0-based position r
    gains = torch.where(ranks < k, gains, torch.zeros_like(gains))  # outside the top k: 0
    return gains.mean().item()  # ideal DCG = 1/log2(2) = 1, so DCG is already normalised
    # END EXERCISE


def mrr(ranks: torch.Tensor) -> float:
    """Mean reciprocal rank (no cut-off)."""
    if ranks.numel() == 0:
        return math.nan
    return (1.0 / (ranks.double() + 1.0)).mean().item()


def ranking_report(ranks: torch.Tensor, ks: Iterable[int] = (5, 10, 20)) -> dict[str, float]:
    """``{"HR@5", "NDCG@5", "HR@10", ..., "MRR"}`` for the given ranks."""
    out: dict[str, float] = {}
    for k in ks:
        out[f"HR@{k}"] = hit_rate_at_k(ranks, k)
        out[f"NDCG@{k}"] = ndcg_at_k(ranks, k)
    out["MRR"] = mrr(ranks)
    return out
