"""Course exercises: one source, a student version, tests that grade it.

    minitransformer exercises list                 # the catalogue
    minitransformer exercises make DIR [--upto ID] # write the student repository
    minitransformer exercises check ID             # run one exercise's tests, with hints
    minitransformer exercises progress             # a table of every exercise's status

See :mod:`.catalogue` for how regions are marked and :mod:`.pytest_plugin` for how blocked
and not-started tests are reported.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from minitransformer.exercises.catalogue import EXERCISES, Exercise, by_id
from minitransformer.exercises.student import make_student_tree, strip_exercises

__all__ = ["EXERCISES", "Exercise", "by_id", "make_student_tree", "strip_exercises",
           "add_arguments", "run", "repo_root", "HELP"]


HELP = "course exercises: student version, check, progress"


def repo_root(start: Path | None = None) -> Path:
    """The repository containing ``start`` (default: the current directory), found by its
    ``pyproject.toml`` beside a ``minitransformer/`` package."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "minitransformer").is_dir():
            return folder
    return Path(__file__).resolve().parents[2]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``exercises`` sub-commands to ``parser``."""
    commands = parser.add_subparsers(dest="exercises_command", required=True)
    commands.add_parser("list", help="list the exercises")
    make = commands.add_parser("make", help="write the student version of the repository")
    make.add_argument("dest", help="destination folder (new or empty)")
    make.add_argument("--upto", default=None, help="keep the solutions of exercises before this id")
    check = commands.add_parser("check", help="run one exercise's tests and print a verdict")
    check.add_argument("id")
    commands.add_parser("progress", help="print the status of every exercise")


def run(args: argparse.Namespace) -> int:
    """Run the parsed ``exercises`` command; returns the exit status."""
    from minitransformer.exercises import grading

    if args.exercises_command == "list":
        for e in EXERCISES:
            print(f"{e.id:>5}  {'*' * e.difficulty:<3}  {e.title}  ({e.file}: {e.function})")
        return 0
    if args.exercises_command == "make":
        dest = make_student_tree(repo_root(Path(__file__).parent), args.dest, upto=args.upto)
        print(f"wrote the student version to {dest}\nnext: cd {dest} && make test")
        return 0
    repo = repo_root()
    if args.exercises_command == "check":
        exercise = by_id(args.id)
        status, hint = grading.check(repo, args.id)
        print(f"Exercise {exercise.id} ({exercise.title}): {status.upper()}\n  {hint}")
        if status != "passed":
            print(f"  docs: {exercise.docs}")
        return 0 if status == "passed" else 1
    rows = grading.progress(repo)
    width = max(len(e.title) for e, _, _ in rows)
    print(f"{'id':>5}  {'exercise':<{width}}  status")
    for exercise, status, hint in rows:
        extra = f"  ({hint})" if status in ("blocked", "failing") else ""
        print(f"{exercise.id:>5}  {exercise.title:<{width}}  {status}{extra[:120]}")
    done = sum(status == "passed" for _, status, _ in rows)
    print(f"{done}/{len(rows)} exercises passed")
    return 0
