"""Two non-neural baselines printed beside every model, as scorers (see ``evaluate.py``).

* **Most popular**: ``score(i) = count of i in the training sequences``, the same list for
  every user (minus what they already have).
* **Item-to-item transition**: ``score(i | last) = #(last -> i)`` -- how often item ``i``
  directly followed the user's last item in the training sequences (a first-order Markov
  chain). Popularity, scaled below 1, breaks ties, so users whose last item was never
  followed by anything still get the popular items.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import torch

__all__ = ["item_counts", "most_popular_scorer", "transition_scorer"]


def item_counts(sequences: list[list[int]], num_items: int) -> torch.Tensor:
    """(N + 2,) float counts of every item id in ``sequences`` (0 and [MASK] stay 0)."""
    counts = torch.zeros(num_items + 2)
    flat = [item for seq in sequences for item in seq]
    if flat:
        counts.index_add_(0, torch.tensor(flat, dtype=torch.long), torch.ones(len(flat)))
    return counts


def most_popular_scorer(sequences: list[list[int]], num_items: int):
    counts = item_counts(sequences, num_items)

    def score(histories: list[list[int]]) -> torch.Tensor:
        return counts.expand(len(histories), -1).clone()  # (B, N + 2)
    return score


def transition_scorer(sequences: list[list[int]], num_items: int):
    counts = item_counts(sequences, num_items)
    tie_break = counts / (counts.max() + 1.0)  # in [0, 1): never beats one observed transition
    following: dict[int, Counter] = defaultdict(Counter)
    for seq in sequences:
        for current, nxt in zip(seq, seq[1:]):
            following[current][nxt] += 1

    def score(histories: list[list[int]]) -> torch.Tensor:
        scores = tie_break.expand(len(histories), -1).clone()  # (B, N + 2)
        for row, history in enumerate(histories):
            if history and history[-1] in following:
                nxt = following[history[-1]]
                scores[row, torch.tensor(list(nxt), dtype=torch.long)] += torch.tensor(
                    list(nxt.values()), dtype=torch.float)
        return scores
    return score
