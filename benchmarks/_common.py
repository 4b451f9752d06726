"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def shared_data(*parts: str) -> Path:
    """``../shared/data/<parts>`` beside the checkout, or ``$MINITRANSFORMER_DATA/<parts>``."""
    root = Path(os.environ.get("MINITRANSFORMER_DATA", REPO.parent / "shared" / "data"))
    return root.joinpath(*parts)
