"""The course's own guarantees, checked on generated student trees (``make check-exercises``).

1. The fully stripped student tree imports cleanly, and no test in it *fails*: each either
   passes, is blocked by an exercise, or stops at its own exercise's ``NotImplementedError``.
2. For every exercise X, a tree where only X is stripped: every test of X stops at X's own
   ``NotImplementedError`` (nothing given away, nothing impossible), and no other test fails.
3. Filling X back in (the solution tree) makes X's tests pass: that is ``make test``.

Usage: python -m minitransformer.exercises.selfcheck [--only 1.1,2.2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from minitransformer.exercises import repo_root
from minitransformer.exercises.catalogue import EXERCISES, by_id
from minitransformer.exercises.student import make_student_tree


def _pytest(tree: Path, args: list[str]) -> list[dict]:
    report = tree / ".exercise-report.json"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               f"--exercise-report={report}", *args]
    subprocess.run(command, cwd=tree, capture_output=True, text=True)
    if not report.exists():
        raise RuntimeError(f"{tree}: pytest wrote no report (does the student tree import?)")
    return json.loads(report.read_text())["outcomes"]


def check_full_tree(repo: Path) -> list[str]:
    """Guarantee 1; returns the problems found."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = make_student_tree(repo, Path(tmp) / "student")
        imported = subprocess.run([sys.executable, "-c", "import minitransformer, sys; "
                                   "print(minitransformer.__file__)"], cwd=tree,
                                  capture_output=True, text=True)
        if imported.returncode != 0 or str(tree) not in imported.stdout:
            return [f"student tree does not import cleanly: {imported.stderr.strip()[-300:]}"]
        outcomes = _pytest(tree, ["tests", "-m", "not browser"])  # the site in a browser: not the course
    return [f"{o['test']} fails in the student tree: {o['message'][:200]}"
            for o in outcomes if o["status"] in ("failed", "collect_error")]


def check_exercise(repo: Path, exercise_id: str) -> list[str]:
    """Guarantee 2 for one exercise; returns the problems found."""
    exercise = by_id(exercise_id)
    with tempfile.TemporaryDirectory() as tmp:
        tree = make_student_tree(repo, Path(tmp) / "student", only_missing=exercise_id)
        files = [f for f in exercise.tests if (tree / f).exists()]
        outcomes = _pytest(tree, [*files])
    problems = []
    mine = [o for o in outcomes if exercise_id in o["exercises"]]
    if not mine:
        problems.append(f"{exercise_id}: no test is marked @pytest.mark.exercise({exercise_id!r})")
    for o in mine:
        if o["status"] != "not_started":
            problems.append(f"{exercise_id}: {o['test']} does not stop at the exercise's "
                            f"NotImplementedError (status {o['status']})")
    for o in outcomes:
        if o["status"] == "collect_error":
            problems.append(f"{exercise_id}: {o['test']} cannot be collected: {o['message'][-200:]}")
        elif exercise_id not in o["exercises"] and o["status"] == "failed":
            problems.append(f"{exercise_id}: {o['test']} fails when only {exercise_id} is missing")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=None, help="comma-separated exercise ids")
    parser.add_argument("--skip-full", action="store_true", help="skip guarantee 1")
    args = parser.parse_args(argv)
    repo = repo_root(Path(__file__).parent)
    ids = args.only.split(",") if args.only else [e.id for e in EXERCISES]
    problems = [] if args.skip_full else check_full_tree(repo)
    print(f"full student tree: {'ok' if not problems else f'{len(problems)} problem(s)'}", flush=True)
    for exercise_id in ids:
        found = check_exercise(repo, exercise_id)
        print(f"exercise {exercise_id}: {'ok' if not found else f'{len(found)} problem(s)'}", flush=True)
        problems += found
    for problem in problems:
        print("  -", problem)
    print(f"{len(ids)} exercises checked, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
