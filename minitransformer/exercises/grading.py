"""Run an exercise's tests and turn the outcomes into a verdict a student can act on.

Verdicts per exercise:

* ``passed``      every one of its tests passed;
* ``not started`` its tests stop at its own ``NotImplementedError``;
* ``blocked``     its tests stop at an earlier exercise's ``NotImplementedError``;
* ``failing``     implemented, but a test fails: the first failure is shown as the hint.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from minitransformer.errors import UsageError
from minitransformer.exercises.catalogue import EXERCISES, Exercise, by_id

__all__ = ["run_tests", "verdict", "check", "progress"]


def run_tests(repo: Path, exercise_ids: list[str] | None = None) -> list[dict]:
    """Run pytest in ``repo`` (only the given exercises' tests) and return per-test outcomes.

    Raises:
        UsageError: the tests imported the ``minitransformer`` package from outside ``repo``
            (e.g. through ``PYTHONPATH``): their verdict would be about another tree.
    """
    repo = Path(repo).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        files = sorted({f for e in EXERCISES if not exercise_ids or e.id in exercise_ids
                        for f in e.tests if (repo / f).exists()})
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   f"--exercise-report={report}", *files]
        for exercise_id in exercise_ids or [e.id for e in EXERCISES]:
            command.append(f"--exercise={exercise_id}")
        subprocess.run(command, cwd=repo, capture_output=True, text=True)
        if not report.exists():
            return []
        result = json.loads(report.read_text())
    package = Path(result["package"])
    if not package.is_relative_to(repo):
        raise UsageError(f"{repo}: its tests imported minitransformer from {package}, another tree; "
                         f"unset PYTHONPATH and run the command again inside {repo}")
    return result["outcomes"]


def verdict(exercise: Exercise, outcomes: list[dict]) -> tuple[str, str]:
    """``(status, hint)`` for one exercise from the outcomes of a test run."""
    mine = [o for o in outcomes if exercise.id in o["exercises"]]
    broken = [o for o in outcomes if o["status"] == "collect_error"]
    if broken and not mine:  # a test file could not even be imported
        missing = broken[0]["blocked_by"]
        if missing == exercise.id:
            return "not started", f"implement {exercise.function} in {exercise.file}"
        if missing:
            return "blocked", f"finish exercise {missing} first"
        return "failing", f"{broken[0]['test']} cannot be imported: {broken[0]['message'][-300:]}"
    if not mine:
        return "no tests", "no test is marked for this exercise"
    if any(o["status"] == "not_started" for o in mine):
        return "not started", f"implement {exercise.function} in {exercise.file}"
    blocked = sorted({o["blocked_by"] for o in mine if o["status"] == "blocked"})
    if blocked:
        return "blocked", f"finish exercise {', '.join(blocked)} first"
    failed = [o for o in mine if o["status"] == "failed"]
    if failed:
        first = failed[0]
        checks = f"\n  it checks: {first['property']}" if first.get("property") else ""
        return "failing", f"{first['test']}{checks}\n  {first['message'].strip()[:600]}"
    passed = sum(o["status"] == "passed" for o in mine)
    return "passed", f"{passed} tests passed"


def check(repo: Path, exercise_id: str) -> tuple[str, str]:
    """Run one exercise's tests; return its verdict."""
    exercise = by_id(exercise_id)
    return verdict(exercise, run_tests(repo, [exercise_id]))


def progress(repo: Path) -> list[tuple[Exercise, str, str]]:
    """Run every exercise's tests once; return ``(exercise, status, hint)`` rows."""
    outcomes = run_tests(repo)
    return [(e, *verdict(e, outcomes)) for e in EXERCISES]
