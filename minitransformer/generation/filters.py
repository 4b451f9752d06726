"""Turning next-token logits into a choice: top-k and top-p (nucleus) filtering, token
suppression, and the GNMT length penalty of beam search."""

from __future__ import annotations

import math

import torch

__all__ = ["top_k_filter", "top_p_filter", "suppress", "length_penalty_factor"]


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the ``k`` largest logits of each row ``(..., V)``; set the others to -inf."""
    k = min(k, logits.size(-1))
    kth_largest = logits.topk(k, dim=-1).values[..., -1:]  # (..., 1)
    return logits.masked_fill(logits < kth_largest, -math.inf)


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus filtering: keep the smallest set of most likely tokens whose probability is ≥ p.

    Sort the probabilities in decreasing order; a token is kept when the mass of the tokens
    *before* it is still < p. So the most likely token is always kept, and the kept set is the
    shortest head of the sorted list reaching mass p. Returns logits with the rest set to -inf.
    """
    sorted_logits, order = logits.sort(dim=-1, descending=True)  # (..., V)
    sorted_probs = sorted_logits.softmax(dim=-1)
    mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs  # (..., V) mass of the better tokens
    remove_sorted = mass_before >= p
    remove = remove_sorted.scatter(-1, order, remove_sorted)  # back to vocabulary order
    return logits.masked_fill(remove, -math.inf)


def suppress(logits: torch.Tensor, token_ids: torch.Tensor, active: bool) -> torch.Tensor:
    """Forbid ``token_ids`` (logit -inf) while ``active`` (used for ``min_new_tokens``)."""
    if not active:
        return logits
    logits = logits.clone()
    logits[:, token_ids] = -math.inf
    return logits


def length_penalty_factor(length: int, alpha: float) -> float:
    """GNMT length penalty (Wu et al., 2016): lp(L) = ((5 + L) / 6) ** alpha.

    A finished hypothesis is ranked by ``log p(y) / lp(|y|)``, where |y| counts the generated
    tokens including the stop token. ``alpha = 0`` ranks by plain log-probability (which favours
    short outputs, every token adds a negative term); ``alpha ≈ 0.6 … 1`` removes most of that
    bias; ``alpha < 0`` favours shorter outputs still.
    """
    return ((5.0 + length) / 6.0) ** alpha
