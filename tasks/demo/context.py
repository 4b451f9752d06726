"""What every use case of the demo shares: the report folder, the settings, one result shape.

* :class:`DemoContext` -- where things go (``data/``, ``runs/``, ``pictures/``, ``logs/`` under
  the report folder), the seed, the device, quick or full, :meth:`DemoContext.logged`, which
  sends what a head's Python verbs print to the use case's log, and
  :meth:`DemoContext.run_command`, which checks a command to try next in its own process.
* :class:`Score` -- one row of the results table: a metric, the model's value and the best
  baseline's.
* :class:`UseCaseResult` -- what a use case hands back: its scores, time, run directory,
  pictures, the command to try next and notes.
"""

from __future__ import annotations

import contextlib
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DemoContext", "Score", "UseCaseResult", "best_baseline", "Picture"]


@dataclass
class Score:
    """One metric: the model against the best of the baselines (``baselines``: name -> value)."""

    metric: str
    model: float
    baselines: dict[str, float]
    higher_is_better: bool = True

    @property
    def best(self) -> tuple[str, float]:
        return best_baseline(self.baselines, self.higher_is_better)

    @property
    def model_wins(self) -> bool:
        _, value = self.best
        return self.model > value if self.higher_is_better else self.model < value


def best_baseline(baselines: dict[str, float], higher_is_better: bool = True) -> tuple[str, float]:
    """``(name, value)`` of the best baseline (largest, or smallest when lower is better)."""
    if not baselines:
        raise ValueError("baselines: expected at least one baseline score")
    pick = max if higher_is_better else min
    name = pick(baselines, key=baselines.__getitem__)
    return name, baselines[name]


@dataclass
class Picture:
    caption: str
    path: Path


@dataclass
class UseCaseResult:
    """What a use case reports (see the module docstring)."""

    name: str                       # "recommendation"
    data: str                       # one line: what the built-in data is
    scores: list[Score]
    seconds: float
    run_dir: Path
    next_command: list[str]         # argv after "minitransformer", checked to work
    next_note: str = ""             # what the command shows
    pictures: list[Picture] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class DemoContext:
    """The report folder and the settings one demo run shares between its use cases."""

    out: Path
    quick: bool = False
    seed: int = 0
    device: str = "auto"
    max_minutes: float | None = None    # the whole demo's training budget (split over 4 use cases)
    draw: bool = True                   # False: matplotlib is missing, no pictures
    messages: list[str] = field(default_factory=list)   # notes for the report (e.g. a missing font)

    def folder(self, name: str) -> Path:
        path = self.out / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def data_dir(self) -> Path:
        return self.folder("data")

    @property
    def pictures_dir(self) -> Path:
        return self.folder("pictures")

    def run_dir(self, name: str) -> Path:
        """``runs/<name>``, which must not exist yet (the heads refuse to overwrite a model)."""
        return self.folder("runs") / name

    def log_path(self, name: str) -> Path:
        return self.folder("logs") / f"{name}.log"

    def budget_minutes(self) -> float | None:
        """One use case's training budget in minutes (a quarter of the demo's), or ``None``."""
        return None if self.max_minutes is None else self.max_minutes / 4

    @contextlib.contextmanager
    def logged(self, log: str, title: str):
        """Inside the block, what a head's Python verbs print goes to ``logs/<log>.log``, after a
        ``# title`` line (only stdout: progress bars stay on screen)."""
        path = self.log_path(log)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f"\n# {title}\n")
            handle.flush()
            with contextlib.redirect_stdout(handle):
                yield

    def run_command(self, argv: list[str], log: str) -> float:
        """Run ``minitransformer ARGV`` in a fresh process, as a reader would paste it, its output
        appended to ``logs/<log>.log``; returns the seconds it took. A non-zero exit status is a
        ``RuntimeError`` naming the log."""
        path = self.log_path(log)
        start = time.monotonic()
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f"\n$ minitransformer {shlex.join(argv)}\n")
            handle.flush()
            status = subprocess.run([sys.executable, "-m", "minitransformer", *argv], stdout=handle,
                                    stderr=subprocess.STDOUT, timeout=600).returncode
        if status != 0:
            raise RuntimeError(f"'minitransformer {shlex.join(argv)}' failed with status {status}; "
                               f"see {path}")
        return time.monotonic() - start
