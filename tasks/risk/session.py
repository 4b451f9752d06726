"""What the stages of one risk training share: the encoded table, which rows do what, the
settings, the output folder, the seed, the time budget and the progress bars.

Rows are indices into the encoded table::

    all         0..N-1
    unlabelled  rows whose labels are hidden (label_fraction < 1; never read)
    train       labelled rows the models learn from
    valid       labelled rows held out: early stopping, the model choice and the threshold

**Progress.** On a terminal (and outside CI: :func:`~minitransformer.training.progress.progress_enabled`)
every stage shows one bar of epochs labelled with the stage (``pretraining``, ``fine-tuning``,
``teacher 2``, ``student 1``), ticked by its validation at the end of each epoch; the epoch lines
are written above the bar. Elsewhere (a log file, CI, tests) the core ``Trainer`` prints its
plain epoch lines.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from minitransformer.training import TrainConfig
from minitransformer.training.progress import make_bar, progress_enabled
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
    progress: bool | None = None

    @property
    def bars(self) -> bool:
        """Whether the stages show progress bars (see the module docstring)."""
        return self.verbose and progress_enabled(self.progress)

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
                           max_minutes=self.minutes_left(), progress=False,
                           verbose=self.verbose and not self.bars, log_every=0)

    @contextmanager
    def stage_bar(self, label: str, epochs: int, evaluate_fn: Callable) -> Iterator[Callable]:
        """Inside the block, ``evaluate_fn`` wrapped so that each call (one per epoch, at the end of
        the epoch) ticks a bar labelled ``label`` and writes the epoch's validation metrics above
        it; a silent bar without :attr:`bars`."""
        bar = make_bar(self.bars, total=epochs, desc=label, unit="epoch")

        def ticking(model, data) -> dict[str, float]:
            metrics = evaluate_fn(model, data)
            bar.update(1)
            if self.bars:
                shown = "  ".join(f"valid_{key} {value:.4f}" for key, value in metrics.items())
                bar.write(f"{label} epoch {bar.n}/{epochs}  {shown}")
            return metrics

        try:
            yield ticking
        finally:
            bar.close()

    def tensors(self, rows: np.ndarray, labels: np.ndarray | None = None) -> tuple[torch.Tensor, ...]:
        """``(numeric (N, F_num), categorical (N, F_cat))`` of ``rows``, plus float ``labels (N,)``
        (0/1 or soft targets) when given."""
        numeric = torch.from_numpy(self.data.numeric[rows])
        categorical = torch.from_numpy(self.data.categorical[rows])
        if labels is None:
            return numeric, categorical
        return numeric, categorical, torch.as_tensor(labels, dtype=torch.float32)
