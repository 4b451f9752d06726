"""Every error class of the package, in one place.

They all say what went wrong in one line that names the argument, file or option at fault.
The command line turns the ``ValueError`` family (:class:`UsageError`, :class:`CheckpointError`)
into ``minitransformer: error: <message>`` and exit status 2, and a diverged training
(:class:`NonFiniteLossError`) into status 1, with no traceback.

==========================  =============  ==================================================
class                       base           raised when
==========================  =============  ==================================================
:class:`UsageError`         ``ValueError`` a person running a command asked for something wrong
:class:`CheckpointError`    ``ValueError`` a checkpoint or run folder cannot be used
:class:`NonFiniteLossError` ``RuntimeError`` the training loss became NaN or infinite
:class:`NonFiniteGradientError` ``RuntimeError`` the gradient norm is NaN or infinite
==========================  =============  ==================================================
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["UsageError", "CheckpointError", "NonFiniteLossError", "NonFiniteGradientError"]


class UsageError(ValueError):
    """A mistake of the person running the command; printed as one line, exit status 2."""


class CheckpointError(ValueError):
    """A checkpoint cannot be used; the message names the file and the reason, on one line."""


class NonFiniteLossError(RuntimeError):
    """The loss (or the gradient norm) became nan/inf; training stopped before the update.

    Attributes:
        step: the optimizer step (1-based) that failed.
        epoch: the epoch (1-based) it belonged to.
        checkpoint: the last checkpoint on disk (all finite), or ``None``.
    """

    def __init__(self, message: str, step: int, epoch: int, checkpoint: Path | None):
        super().__init__(message)
        self.step, self.epoch, self.checkpoint = step, epoch, checkpoint


class NonFiniteGradientError(RuntimeError):
    """The global gradient norm is NaN or infinite: the update is refused."""
