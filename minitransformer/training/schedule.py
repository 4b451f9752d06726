"""Learning-rate schedule: linear warm-up, then cosine decay to a floor.

With peak learning rate ``lr``, ``W`` warm-up steps, ``S`` optimizer steps in all and floor
ratio ``m``, the learning rate used by optimizer step ``s`` (counting from 0) is::

    s <  W:   lr * (s + 1) / W                                      (linear warm-up)
    s >= W:   lr * (m + (1 - m) * (1 + cos(pi * p)) / 2),  p = (s - W) / (S - W)

so the first step already moves the weights (``lr / W``), step ``W - 1`` reaches the peak, and
the cosine ends at ``m * lr`` after the last step. Warm-up keeps Adam's early, noisy
second-moment estimates from taking huge steps; the cosine tail lets the weights settle.

:class:`WarmupCosine` is the multiplier as a picklable object, ready for
``torch.optim.lr_scheduler.LambdaLR`` (its numbers travel in the scheduler's ``state_dict``)::

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, WarmupCosine(1000, 50, 0.1))
    ...
    optimizer.step(); scheduler.step()
"""

from __future__ import annotations

import math

import torch

__all__ = ["WarmupCosine", "warmup_cosine", "make_scheduler"]


def warmup_cosine(step: int, total_steps: int, warmup_steps: int = 0, min_lr_ratio: float = 0.0) -> float:
    """The learning-rate multiplier for optimizer step ``step`` (0-based); see the module doc.

    Steps past ``total_steps`` stay at ``min_lr_ratio``.

    Examples:
        >>> [round(warmup_cosine(s, 10, 4, 0.1), 3) for s in (0, 1, 3, 4, 10)]
        [0.25, 0.5, 1.0, 1.0, 0.1]
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


class WarmupCosine:
    """:func:`warmup_cosine` with its settings bound: a ``LambdaLR`` ``lr_lambda``.

    Args:
        total_steps: optimizer steps in the whole run (epochs x steps per epoch).
        warmup_steps: linear warm-up length (0 = none).
        min_lr_ratio: the final learning rate as a fraction of the peak, in [0, 1].
    """

    def __init__(self, total_steps: int, warmup_steps: int = 0, min_lr_ratio: float = 0.0):
        if total_steps < 1:
            raise ValueError(f"total_steps: expected a positive integer, got {total_steps}")
        if not 0 <= warmup_steps <= total_steps:
            raise ValueError(f"warmup_steps: expected 0..{total_steps}, got {warmup_steps}")
        if not 0.0 <= min_lr_ratio <= 1.0:
            raise ValueError(f"min_lr_ratio: expected a value in [0, 1], got {min_lr_ratio}")
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.min_lr_ratio = float(min_lr_ratio)

    def __call__(self, step: int) -> float:
        return warmup_cosine(step, self.total_steps, self.warmup_steps, self.min_lr_ratio)

    def __repr__(self) -> str:
        return (f"WarmupCosine(total_steps={self.total_steps}, warmup_steps={self.warmup_steps}, "
                f"min_lr_ratio={self.min_lr_ratio})")


def make_scheduler(optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int = 0,
                   min_lr_ratio: float = 0.0) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` following :class:`WarmupCosine`; call ``.step()`` after each optimizer step."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, WarmupCosine(total_steps, warmup_steps, min_lr_ratio))
