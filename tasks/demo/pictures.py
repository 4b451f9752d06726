"""Drawing the demo's pictures without letting a picture stop the demo.

matplotlib is optional (the ``plot`` extra). :func:`matplotlib_missing` is checked once at the
start: without it the demo trains and scores as usual, skips every picture, and says on screen
and in the report how to install it. :func:`draw` calls one plotting function; if it fails
anyway (a font, a disk), the demo prints one warning line and goes on without that picture.
Warnings of the plotting code (no font with Chinese characters) are printed once and kept for
the report.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

from tasks.demo.context import Picture

__all__ = ["INSTALL_HINT", "matplotlib_missing", "draw", "curves_picture"]

INSTALL_HINT = "pip install minitransformer[plot]"


def matplotlib_missing() -> bool:
    return importlib.util.find_spec("matplotlib") is None


def draw(ctx, what: str, plot, *args, **kwargs) -> Path | None:
    """``plot(*args, **kwargs)`` -> the picture's path, or ``None`` (skipped, or failed with a
    warning naming ``what``)."""
    if not ctx.draw:
        return None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            path = Path(plot(*args, **kwargs))
    except Exception as err:  # a picture is never worth the demo: report it and go on
        print(f"warning: the {what} picture was not drawn: {type(err).__name__}: {err}", file=sys.stderr)
        return None
    for warning in caught:  # e.g. no font with Chinese characters: said once, kept for the report
        message = f"pictures: {warning.message}"
        if message not in ctx.messages:
            ctx.messages.append(message)
            print(f"note: {message}", file=sys.stderr)
    return path


def curves_picture(ctx, what: str, run_dir: Path, path: Path, caption: str = "Training curves",
                   **kwargs) -> list:
    """The training curves of ``run_dir`` (its ``metrics.jsonl``) as a one-item list of
    :class:`~tasks.demo.context.Picture`, or an empty list when the picture was not drawn."""
    from minitransformer.pictures.plotting import plot_training_curves

    drawn = draw(ctx, what, plot_training_curves, run_dir, path, **kwargs)
    return [Picture(caption, drawn)] if drawn else []
