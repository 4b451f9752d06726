"""The order of examples: a seeded, rank-aware sampler that can resume mid-epoch."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import torch
from torch.utils.data import DistributedSampler

__all__ = ["EpochSampler", "batch_len"]


def batch_len(batch: Any) -> int:
    """The number of examples in a collated batch (the first tensor's first dimension)."""
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.dim() else 1
    if isinstance(batch, Mapping):
        values = batch.values()
    else:
        values = batch if isinstance(batch, list | tuple) else ()
    for value in values:
        n = batch_len(value)
        if n:
            return n
    return 0


class EpochSampler(DistributedSampler):
    """``DistributedSampler`` that can skip the first ``skip`` indices (mid-epoch resume).

    With one process it is an ordinary seeded shuffle; with ``N`` ranks, rank ``r`` takes every
    ``N``-th index of the *same* permutation, so ``N`` ranks with batch ``b`` see exactly the
    examples that one process with batch ``N * b`` sees, step by step.
    """

    def __init__(self, dataset, num_replicas: int, rank: int, shuffle: bool, seed: int):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed)
        self.skip = 0

    def set_position(self, epoch: int, skip: int) -> None:
        self.set_epoch(epoch)
        self.skip = skip

    def __iter__(self):
        return itertools.islice(super().__iter__(), self.skip, None)

    def __len__(self) -> int:
        return self.num_samples - self.skip
