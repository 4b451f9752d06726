"""Item-to-item counts, stored sparsely: the transition prior inside the model's scores.

``F_k[a, i]`` counts how often item ``i`` came ``k`` items after item ``a`` in the training
sequences, ``B_k[a, i]`` how often it came ``k`` items before it (k = 1 .. K, the ``lags``).
``F_1`` is the item-to-item baseline's table (:mod:`tasks.recommendation.baselines`). The model
(:class:`~tasks.recommendation.model.SequentialRecommender`) adds a fitted multiple of their
logarithms, read from each of the last ``D`` items of the history, to its scores::

    score(t, i) = λ · H_t · E[i]  +  Σ_d Σ_table  w[d, table] · log(1 + table[a_{t,d}, i])

where ``a_{t,d}`` is the d-th item back from the predicted one (d = 1: the item just before it)
and ``table`` runs over the 2K tables ``F_1 .. F_K, B_1 .. B_K``. The counts are what every
other shopper did; the Transformer learns what they do not tell: the rest of this shopper's
history, and the items whose counts are few.

**Storage.** Only the pairs that occurred are kept, as sorted integer keys with their counts:
pair ``(a, i)`` of table ``t`` (``F_k``: ``t = k - 1``, ``B_k``: ``t = K + k - 1``) has the key
``(t · V + a) · V + i`` with V = N + 2, the vocabulary. A table's *row* ``t · V + a`` is then a
contiguous run of keys, found by binary search. Amazon Beauty's 12,101 items give about a
million pairs for K = 2, where a dense table would have 146 million cells each.

**Fitted on the validation items.** The Transformer is trained alone; the weights ``w`` (and a
scale on the Transformer's score) are then fitted on each user's validation item, which neither
the Transformer nor the counts have seen (:mod:`tasks.recommendation.mixing`). Fitted on the
training targets instead, they would learn to trust the counts of pairs the target itself put
there, and the Transformer's memory of its training sequences.
"""

from __future__ import annotations

import torch
from torch import nn

from minitransformer.errors import CheckpointError

__all__ = ["CountTable", "count_transitions", "table_rows", "add_log_counts", "check_counts"]


class CountTable(nn.Module):
    """``keys`` (P,) and ``counts`` (P,) as the two tensors of a safetensors file of their own
    (``transitions.safetensors`` in a model folder): the model keeps them out of its weights
    file, whose tensors keep one shape from the first epoch to the last."""

    def __init__(self, keys: torch.Tensor, counts: torch.Tensor):
        super().__init__()
        self.register_buffer("keys", keys)
        self.register_buffer("counts", counts)


def check_counts(keys: torch.Tensor, counts: torch.Tensor, vocab_size: int, lags: int, source) -> None:
    """Refuse tables read from a file that the lookups could not use, naming ``source``
    (:class:`~minitransformer.errors.CheckpointError`): keys not int64, not strictly ascending or
    outside the 2 x ``lags`` tables; counts not finite and positive."""
    if keys.dtype != torch.long or not counts.is_floating_point():
        raise CheckpointError(f"{source}: expected int64 keys and float counts, "
                              f"got {keys.dtype} and {counts.dtype}")
    if keys.numel() and (keys[0] < 0 or keys[-1] >= 2 * lags * vocab_size * vocab_size
                         or bool((keys[1:] <= keys[:-1]).any())):
        raise CheckpointError(f"{source}: keys are not ascending pairs of {vocab_size} items "
                              f"in {2 * lags} tables")
    if not bool(torch.isfinite(counts).all()) or bool((counts <= 0).any()):
        raise CheckpointError(f"{source}: counts must be finite and positive")


def count_transitions(sequences: list[list[int]], vocab_size: int,
                      lags: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """The 2 x ``lags`` tables of ``sequences`` as ``(keys, counts)``: ``keys`` (P,) int64 in
    ascending order (see the module docstring), ``counts`` (P,) float.

    Examples:
        >>> keys, counts = count_transitions([[1, 2, 3], [1, 2]], vocab_size=5)
        >>> keys.tolist(), counts.tolist()  # F_1: 1->2 twice (key 7), 2->3 once; B_1: 2<-1, 3<-2
        ([7, 13, 36, 42], [2.0, 1.0, 2.0, 1.0])
    """
    square = vocab_size * vocab_size
    pairs = []
    for k in range(1, lags + 1):
        forward, backward = (k - 1) * square, (lags + k - 1) * square
        for seq in sequences:
            for a, b in zip(seq, seq[k:]):
                pairs += (forward + a * vocab_size + b, backward + b * vocab_size + a)
    if not pairs:
        return torch.zeros(0, dtype=torch.long), torch.zeros(0)
    keys, counts = torch.tensor(pairs, dtype=torch.long).unique(sorted=True, return_counts=True)
    return keys, counts.float()


def table_rows(table: int, items: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """The rows ``table · V + a`` of items ``a`` (any shape) in table ``table``."""
    return table * vocab_size + items


def add_log_counts(scores: torch.Tensor, keys: torch.Tensor, counts: torch.Tensor, vocab_size: int,
                   rows: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Add ``weight · log(1 + count[rows_m, i])`` to ``scores[m, i]`` in place for every stored
    pair with ``i < scores.size(1)``; returns ``scores``.

    ``scores`` (M, V') with V' <= vocab_size; ``rows`` (M,) (see :func:`table_rows`; item 0, the
    padding, has no pairs); ``weight`` a scalar tensor (gradients flow to it). Only the stored
    pairs are touched: each row's run of ``keys``, so the cost is the number of pairs in the rows
    read, not M x V.

    Examples:
        >>> keys, counts = count_transitions([[1, 2, 3], [1, 2]], vocab_size=5)
        >>> rows = torch.tensor([1, 0])  # F_1's rows of items 1 and 0 (padding: none)
        >>> scores = add_log_counts(torch.zeros(2, 5), keys, counts, 5, rows, torch.tensor(1.0))
        >>> [round(x, 3) for x in scores[0].tolist()], scores[1].tolist()  # log(1 + 2) at item 2
        ([0.0, 0.0, 1.099, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0])
    """
    if keys.numel() == 0:
        return scores
    starts = torch.searchsorted(keys, rows * vocab_size)  # (M,) each row's first pair
    lengths = torch.searchsorted(keys, (rows + 1) * vocab_size) - starts  # (M,) pairs in each row
    entry_rows = torch.repeat_interleave(torch.arange(len(rows), device=scores.device), lengths)  # (S,)
    first = torch.repeat_interleave(starts - (torch.cumsum(lengths, 0) - lengths), lengths)  # (S,)
    where = first + torch.arange(entry_rows.numel(), device=scores.device)  # (S,) indices into keys
    columns = keys[where] - rows[entry_rows] * vocab_size  # (S,) the items of the pairs
    keep = columns < scores.size(1)
    values = torch.log1p(counts[where][keep])  # (S',)
    scores.index_put_((entry_rows[keep], columns[keep]), weight * values, accumulate=True)
    return scores
