"""What a training run shows and records: tqdm bars, one summary line per epoch, ``metrics.jsonl``.

* Bars (an epoch bar and a step bar) appear only when stderr is a terminal and the ``CI``
  environment variable is unset, unless ``TrainConfig.progress`` says otherwise. A log file
  or a CI job therefore gets clean lines instead of carriage-return noise.
* Each epoch prints one line to stdout, e.g.::

      epoch 3/10  loss 0.4123  valid_acc 0.9120 *  lr 8.1e-04  12.3s  5400 ex/s

  where ``*`` marks a new best validation metric.
* ``metrics.jsonl`` in the run directory gets one JSON object per epoch
  (``{"event": "epoch", "epoch": 3, "step": 120, "train_loss": ..., "valid_acc": ..., ...}``)
  and a last ``{"event": "final", ...}``; read it with
  ``[json.loads(line) for line in open(path)]``.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from minitransformer.nn.io import atomic_write_text

__all__ = ["progress_enabled", "make_bar", "format_epoch_line", "MetricsLog", "METRICS_NAME"]

METRICS_NAME = "metrics.jsonl"


def progress_enabled(setting: bool | None) -> bool:
    """``setting`` if given; otherwise True only on an interactive terminal outside CI."""
    if setting is not None:
        return bool(setting)
    if os.environ.get("CI"):
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def make_bar(enabled: bool, **kwargs) -> tqdm:
    """A tqdm bar, or a silent one (``disable=True``) with the same methods."""
    return tqdm(disable=not enabled, dynamic_ncols=True, **kwargs)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5) or not math.isfinite(value):
            return f"{value:.3e}"
        return f"{value:.4f}"
    return str(value)


def format_epoch_line(record: dict[str, Any], epochs: int, monitor_key: str | None = None) -> str:
    """One human-readable line for an epoch record (see the module doc); ``*`` follows
    ``monitor_key`` (e.g. ``"valid_acc"``) when the epoch improved it."""
    parts = [f"epoch {record['epoch']}/{epochs}", f"loss {_fmt(record['train_loss'])}"]
    for key, value in record.items():
        if key.startswith("valid_"):
            mark = " *" if record.get("improved") and key == monitor_key else ""
            parts.append(f"{key} {_fmt(value)}{mark}")
    parts.append(f"lr {record['lr']:.2e}")
    parts.append(f"{record['elapsed_s']:.1f}s")
    parts.append(f"{record['examples_per_s']:.0f} ex/s")
    return "  ".join(parts)


class MetricsLog:
    """Append-only ``metrics.jsonl``: one JSON object per line, flushed after each write.

    Args:
        path: the file; created on the first write.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def write(self, record: dict[str, Any]) -> None:
        """Append ``record`` as one line."""
        line = json.dumps(record, ensure_ascii=False, allow_nan=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def rewrite(self, records: list[dict[str, Any]]) -> None:
        """Replace the whole file (atomically) by ``records``, e.g. the history of a resumed run."""
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        atomic_write_text(self.path, text)

    def read(self) -> list[dict[str, Any]]:
        """All records so far (an empty list when the file does not exist)."""
        if not self.path.is_file():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
