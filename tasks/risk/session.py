"""What the stages of one risk training share: the encoded table, which rows do what, the
settings, the output folder, the seed and the time budget.

Rows are indices into the encoded table::

    all         0..N-1
    unlabelled  rows whose labels are hidden (label_fraction < 1; never read)
    train       labelled rows the models learn from
    valid       labelled rows held out: early stopping, the model choice and the threshold
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from minitransformer.training import TrainConfig
from tasks.risk.config import RiskTrainConfig
from tasks.risk.data import Encoded, stratified_split

__all__ = ["Rows", "split_rows", "Session"]


@dataclass
class Rows:
    """Which rows of the table each stage uses (index arrays, see the module docstring)."""

    all: np.ndarray
    train: np.ndarray
    valid: np.ndarray
    unlabelled: np.ndarray


def split_rows(labels: np.ndarray, label_fraction: float, valid_fraction: float, seed: int) -> Rows:
    """Hide the labels of all but ``label_fraction`` of the rows, then hold out ``valid_fraction``
    of the labelled ones (both stratified and seeded); both parts must hold both classes."""
    rows = np.arange(len(labels))
    if label_fraction < 1.0:
        unlabelled, labelled = stratified_split(labels, label_fraction, seed)
    else:
        unlabelled, labelled = rows[:0], rows
    train_pos, valid_pos = stratified_split(labels[labelled], valid_fraction, seed + 1)
    train_rows, valid_rows = labelled[train_pos], labelled[valid_pos]
    for name, part in (("training", train_rows), ("validation", valid_rows)):
        if len(np.unique(labels[part])) < 2:
            raise ValueError(f"the {name} split has only one class ({len(part)} rows); "
                             "use more data or a larger --label-fraction")
    return Rows(rows, train_rows, valid_rows, unlabelled)


@dataclass
class Session:
    """One training's shared state; ``settings`` (JSON-ready) is saved with every stage."""

    data: Encoded
    rows: Rows
    config: RiskTrainConfig
    out: Path
    seed: int = 0
    device: str = "auto"
    max_minutes: float | None = None
    verbose: bool = True
    settings: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    @property
    def labels(self) -> np.ndarray:
        return self.data.labels

    def say(self, text: str) -> None:
        if self.verbose:
            print(text)

    def minutes_left(self) -> float | None:
        """What is left of ``max_minutes`` for the next stage (at least 3 seconds), or ``None``."""
        if self.max_minutes is None:
            return None
        return max(0.05, self.max_minutes - (time.monotonic() - self.started) / 60)

    def trainer_config(self, epochs: int, monitor: str, mode: str, seed: int | None = None) -> TrainConfig:
        """The core ``Trainer``'s settings for one stage."""
        c = self.config
        return TrainConfig(epochs=epochs, batch_size=c.batch_size, lr=c.lr, weight_decay=c.weight_decay,
                           patience=c.patience, monitor=monitor, mode=mode,
                           seed=self.seed if seed is None else seed, device=self.device,
                           max_minutes=self.minutes_left(), progress=False, verbose=self.verbose,
                           log_every=0)

    def tensors(self, rows: np.ndarray, labels: np.ndarray | None = None) -> tuple[torch.Tensor, ...]:
        """``(numeric (N, F_num), categorical (N, F_cat))`` of ``rows``, plus float ``labels (N,)``
        (0/1 or soft targets) when given."""
        numeric = torch.from_numpy(self.data.numeric[rows])
        categorical = torch.from_numpy(self.data.categorical[rows])
        if labels is None:
            return numeric, categorical
        return numeric, categorical, torch.as_tensor(labels, dtype=torch.float32)
