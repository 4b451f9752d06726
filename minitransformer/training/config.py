"""The settings of a training run (:class:`TrainConfig`), what ``fit`` returns
(:class:`FitResult`), and the error a diverged run raises (:class:`NonFiniteLossError`)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from minitransformer.training.devices import resolve_device

__all__ = ["TrainConfig", "FitResult"]


#: the largest micro-batch a configuration may ask for (far more examples than fit in memory)
MAX_BATCH_SIZE = 2**31 - 1

@dataclass
class TrainConfig:
    """Every setting of a training run; saved as ``train_config.json`` in the run directory.

    Args:
        epochs: passes over ``train_data``.
        batch_size: examples per micro-batch **per process** (global batch =
            ``batch_size * grad_accum_steps * world_size``).
        lr: peak learning rate of AdamW.
        weight_decay: AdamW decoupled weight decay, applied to parameters with ``ndim >= 2``
            (weight matrices, embeddings); biases and layer-norm gains are not decayed.
        warmup_steps: linear warm-up length in optimizer steps; ``None`` = use
            ``warmup_fraction``.
        warmup_fraction: warm-up as a fraction of all optimizer steps (when ``warmup_steps`` is
            None).
        min_lr_ratio: the cosine ends at ``min_lr_ratio * lr``.
        grad_clip: max global gradient norm (``None`` or 0: no clipping; the norm is still
            checked for nan/inf).
        grad_accum_steps: micro-batches per optimizer step.
        patience: stop after this many epochs without improvement of ``monitor``
            (``None``: never stop early).
        min_delta: an improvement must beat the best by more than this.
        monitor: the validation metric to select the best epoch with; a key of
            ``evaluate_fn``'s result (``"loss"`` without an ``evaluate_fn``).
        mode: ``"min"`` (loss, error) or ``"max"`` (accuracy, NDCG).
        max_minutes: time budget of this :meth:`Trainer.fit` call; when spent, training stops
            after the current optimizer step, writes a checkpoint (resumable) and keeps the
            best model. ``None``: no limit.
        seed: seeds Python, NumPy and PyTorch at the start of ``fit`` and the data order.
        device: ``"auto"`` (CUDA, else MPS, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``,
            ``"mps"``.
        bf16: bfloat16 autocast for the forward pass (CUDA only; ignored elsewhere).
        num_workers: DataLoader worker processes (0 = load in the main process).
        shuffle: reshuffle the training data every epoch (deterministically from ``seed``).
        drop_last: drop the last incomplete batch of each epoch.
        save_every: also write a checkpoint every this many optimizer steps (``None``: only at
            epoch ends). Needs ``out_dir``.
        keep_checkpoints: how many checkpoints to keep on disk (newest first).
        log_every: refresh the step bar (or, without bars, print a line) every this many
            optimizer steps; 0 = never print step lines.
        progress: show tqdm bars; ``None`` = only on a terminal outside CI.
        verbose: print one summary line per epoch (and step lines without bars).
    """

    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int | None = None
    warmup_fraction: float = 0.05
    min_lr_ratio: float = 0.1
    grad_clip: float | None = 1.0
    grad_accum_steps: int = 1
    patience: int | None = None
    min_delta: float = 0.0
    monitor: str = "loss"
    mode: str = "min"
    max_minutes: float | None = None
    seed: int = 0
    device: str = "auto"
    bf16: bool = False
    num_workers: int = 0
    shuffle: bool = True
    drop_last: bool = False
    save_every: int | None = None
    keep_checkpoints: int = 1
    log_every: int = 50
    progress: bool | None = None
    verbose: bool = True

    def __post_init__(self):
        def positive_int(name, allow_none=False, allow_zero=False):
            value = getattr(self, name)
            if value is None and allow_none:
                return
            if (not isinstance(value, int) or isinstance(value, bool)
                    or value < (0 if allow_zero else 1)):
                kind = "a non-negative" if allow_zero else "a positive"
                raise ValueError(f"{name}: expected {kind} integer, got {value!r}")

        for name in ("epochs", "batch_size", "grad_accum_steps", "keep_checkpoints"):
            positive_int(name)
        if self.batch_size > MAX_BATCH_SIZE:  # torch's samplers index with 64-bit ints; be far below
            raise ValueError(f"batch_size: expected at most {MAX_BATCH_SIZE}, got {self.batch_size}")
        positive_int("num_workers", allow_zero=True)
        positive_int("log_every", allow_zero=True)
        positive_int("seed", allow_zero=True)
        positive_int("patience", allow_none=True)
        positive_int("save_every", allow_none=True)
        positive_int("warmup_steps", allow_none=True, allow_zero=True)
        if not (isinstance(self.lr, int | float) and self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr: expected a positive number, got {self.lr!r}")
        if not (isinstance(self.weight_decay, int | float) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay: expected a non-negative number, got {self.weight_decay!r}")
        if not 0.0 <= self.warmup_fraction <= 1.0:
            raise ValueError(f"warmup_fraction: expected a value in [0, 1], got {self.warmup_fraction!r}")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise ValueError(f"min_lr_ratio: expected a value in [0, 1], got {self.min_lr_ratio!r}")
        if self.grad_clip is not None and not self.grad_clip >= 0:
            raise ValueError(f"grad_clip: expected a non-negative number or None, got {self.grad_clip!r}")
        if self.mode not in ("min", "max"):
            raise ValueError(f"mode: expected 'min' or 'max', got {self.mode!r}")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ValueError(f"max_minutes: expected a positive number or None, got {self.max_minutes!r}")
        if not isinstance(self.monitor, str) or not self.monitor:
            raise ValueError(f"monitor: expected a metric name, got {self.monitor!r}")
        resolve_device(self.device, check=False)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "train config") -> TrainConfig:
        """Build from a dict, rejecting unknown keys (a typo is an error, not a silent default)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{source}: unknown setting(s) {unknown}; known: {sorted(known)}")
        return cls(**data)


@dataclass
class FitResult:
    """What :meth:`Trainer.fit` returns.

    Attributes:
        best_epoch: 1-based epoch whose weights the model holds now (``None`` when no epoch
            finished, e.g. the time budget ran out in the first epoch).
        best_metric: its value of ``monitor`` (``None`` without validation data).
        monitor, mode: as configured.
        history: one dict per finished epoch, as in ``metrics.jsonl``.
        stop_reason: ``"completed"``, ``"early_stopping"`` or ``"time_budget"``.
        epochs_run: finished epochs (including those before a resume).
        steps: optimizer steps taken (including those before a resume).
        elapsed_s: wall time of this ``fit`` call.
        run_dir: the run directory, or ``None``.
    """

    best_epoch: int | None
    best_metric: float | None
    monitor: str
    mode: str
    history: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str = "completed"
    epochs_run: int = 0
    steps: int = 0
    elapsed_s: float = 0.0
    run_dir: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``run_dir`` as a string)."""
        out = dataclasses.asdict(self)
        out["run_dir"] = None if self.run_dir is None else str(self.run_dir)
        return out
