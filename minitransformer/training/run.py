"""What every head's ``train`` verb returns: the trained model and where it was saved.

::

    run = tasks.recommendation.train("Beauty.txt", "runs/beauty")
    run.model_dir      # Path("runs/beauty"): `load(run.model_dir)` reads the same model back
    run.model          # the trained model, as `load` returns it
    run.metrics        # validation metrics of the kept model, e.g. {"ndcg@10": 0.052}
    run.seconds        # wall time of the training
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Run"]


@dataclass
class Run:
    """A finished training: ``model_dir`` (the saved model folder), ``model`` (what the head's
    ``load(model_dir)`` returns), ``metrics`` (validation numbers of the kept model) and
    ``seconds`` (wall time)."""

    model_dir: Path
    model: Any
    metrics: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
