"""One fuzz case: run the command line in-process on bad input and check what a user would see.

A refused command must give **exit status 2**, **exactly one line on stderr** starting
``minitransformer: error:`` that names the offending file or option, **no traceback**, and must
leave its input and every watched folder (an existing run, a model) **byte-identical**; a
training's fresh ``--out`` folder must stay without files. Every case is counted in
:data:`TALLY` (the suite prints ``fuzz suite: N cases, T tracebacks`` and fails on too few cases
or any traceback, see ``conftest.py``).

Setting ``MINITRANSFORMER_FUZZ_LOG=FILE`` appends every failing case to ``FILE`` as a JSON line
(argv, input, what came out), for reading the failures of a whole run at once; with
``MINITRANSFORMER_FUZZ_LOG_ALL=1`` every case, to read the messages users get.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from minitransformer.cli.main import main
from minitransformer.files.run_folder import holds_files
from tests.files.snapshots import snapshot

__all__ = ["TALLY", "Outcome", "run_cli", "expect_refusal", "expect_success", "FuzzFailure"]

ERROR = "minitransformer: error: "


@dataclass
class Tally:
    """How many cases ran, how many ended in a traceback, and which tests were fuzz tests."""

    cases: int = 0
    tracebacks: int = 0
    collected: set[str] = field(default_factory=set)    # node ids of the fuzz tests collected
    modules: set[Path] = field(default_factory=set)     # their files
    selected: set[str] = field(default_factory=set)     # ...left after -k, --deselect
    finished: set[str] = field(default_factory=set)     # ...that ran


TALLY = Tally()


class FuzzFailure(AssertionError):
    """A case whose outcome breaks the rules above."""


@dataclass
class Outcome:
    status: int | None
    out: str
    err: str
    raised: BaseException | None = None  # escaped main(): the console script would print a traceback

    @property
    def timed_out(self) -> bool:
        return isinstance(self.raised, CaseTimeout)

    @property
    def traceback(self) -> bool:
        return (self.raised is not None and not self.timed_out) or \
            "Traceback (most recent call last)" in self.out + self.err


#: a case is stopped after this long (a command that should refuse at once but trains or hangs)
CASE_SECONDS = 120


class CaseTimeout(BaseException):
    """Raised inside a case that runs longer than :data:`CASE_SECONDS` (not an ``Exception``,
    so no ``except`` in the command catches it)."""


@contextlib.contextmanager
def _time_limit(seconds: float):
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield  # pragma: no cover - Windows, or not the main thread: no limit
        return

    def stop(signum, frame):
        raise CaseTimeout(f"still running after {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_cli(argv: Sequence[str], capsys) -> Outcome:
    """``main(argv)`` with its output captured; an exception escaping it is kept, not raised."""
    capsys.readouterr()
    try:
        with _time_limit(CASE_SECONDS):
            status, raised = main(list(argv)), None
    except BaseException as err:  # noqa: BLE001 - SystemExit and friends are outcomes too
        status, raised = None, err
    out, err = capsys.readouterr()
    return Outcome(status, out, err, raised)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[:limit // 2]}...({len(text)} chars)...{text[-20:]}"


def _shown(argv: Sequence[str]) -> str:
    return " ".join(repr(a) if (not a or " " in a) else a for a in (_short(str(a), 60) for a in argv))


def _log(record: dict) -> None:
    target = os.environ.get("MINITRANSFORMER_FUZZ_LOG")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def _record(argv, what: str, outcome: Outcome, problems: list[str]) -> dict:
    return {"test": os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0], "argv": _shown(argv),
              "input": what, "problems": problems, "status": outcome.status,
              "stderr": _short(outcome.err.strip(), 400),
              "raised": None if outcome.raised is None else f"{type(outcome.raised).__name__}: "
                                                              f"{_short(str(outcome.raised), 300)}"}


def _fail(argv, what: str, outcome: Outcome, problems: list[str]) -> None:
    record = _record(argv, what, outcome, problems)
    _log(record)
    lines = [f"{'; '.join(problems)}", f"  argv:   {record['argv']}", f"  input:  {what}",
             f"  status: {outcome.status}", f"  stderr: {record['stderr']!r}"]
    if record["raised"]:
        lines.append(f"  raised: {record['raised']}")
    raise FuzzFailure("\n".join(lines))


def expect_refusal(argv: Sequence[str], capsys, *, what: str, names: Iterable[str] = (),
                   words: Iterable[str] = (), watched: Iterable[Path] = (),
                   fresh: Iterable[Path] = (), line: int | None = None) -> Outcome:
    """Run one case that must be refused; raise :class:`FuzzFailure` describing any rule broken.

    Args:
        what: the input in words, for the report.
        names: the message must contain one of these (the file's name, the option) or one of
            ``words`` as a whole word (``series`` for ``--series``); both empty: any message.
        watched: files and folders that must be byte-identical afterwards.
        fresh: paths that did not exist before (a training's ``--out``, a file to write): no file
            there afterwards, and no files in a folder there.
        line: the line of the file the defect is on: the message must name it (``line 7``).
    """
    names, words = [str(n) for n in names], list(words)
    outcome, problems = _run_case(argv, capsys, watched, status=2)
    lines = outcome.err.splitlines()
    if len(lines) != 1 or not lines[0].startswith(ERROR):
        problems.append(f"stderr has {len(lines)} line(s), expected one starting {ERROR.strip()!r}")
    elif (names or words) and not (any(name in lines[0] for name in names)
                                   or any(re.search(rf"\b{re.escape(word)}\b", lines[0]) for word in words)):
        problems.append(f"the message names none of {[_short(n, 40) for n in names + words]}")
    elif line is not None and not re.search(rf"\bline {line}\b", lines[0]):
        problems.append(f"the message does not name line {line}")
    problems += [_written(path) for path in fresh if path.is_file() or holds_files(path)]
    if problems:
        _fail(argv, what, outcome, problems)
    if os.environ.get("MINITRANSFORMER_FUZZ_LOG_ALL"):
        _log(_record(argv, what, outcome, []))
    return outcome


def _run_case(argv: Sequence[str], capsys, watched: Iterable[Path], status: int) -> tuple[Outcome, list[str]]:
    """Run one case and count it; the problems every case shares: no answer, a traceback, another
    exit status than ``status``, a ``watched`` file or folder changed."""
    watched = list(watched)
    before = {path: snapshot(path) for path in watched}
    outcome = run_cli(argv, capsys)
    TALLY.cases += 1
    problems = [f"no answer: {outcome.raised}"] if outcome.timed_out else []
    if outcome.traceback:
        TALLY.tracebacks += 1
        problems.append("a traceback")
    if outcome.status != status:
        valid = " (the input is valid)" if status == 0 else ""
        problems.append(f"exit status {outcome.status}, expected {status}{valid}")
    problems += [f"{path.name} changed" for path in watched if snapshot(path) != before[path]]
    return outcome, problems


def _written(path: Path) -> str:
    if path.is_file():
        return f"wrote {path.name}"
    return f"wrote {', '.join(holds_files(path))} into {path.name}"


def expect_success(argv: Sequence[str], capsys, *, what: str, watched: Iterable[Path] = ()) -> Outcome:
    """Run one case that is valid: exit status 0, no traceback, ``watched`` unchanged."""
    outcome, problems = _run_case(argv, capsys, watched, status=0)
    if problems:
        _fail(argv, what, outcome, problems)
    return outcome
