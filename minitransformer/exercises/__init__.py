"""Course exercises: one source, a student version, tests that grade it.

    minitransformer exercises list                 # the catalogue
    minitransformer exercises make DIR [--upto ID] # write the student repository (a course copy)
    minitransformer exercises check ID             # run one exercise's tests, with hints
    minitransformer exercises progress             # a table of every exercise's status

``check`` and ``progress`` grade the course copy the command is run in (the nearest folder,
upwards, that holds the ``.student-tree`` file ``make`` writes) and print its path. Run
anywhere else they refuse, with exit status 2 and the commands to make a copy: grading the
reference solution instead takes ``--reference``, so a green verdict always names the tree it
graded.

See :mod:`.catalogue` for how regions are marked and :mod:`.pytest_plugin` for how blocked
and not-started tests are reported.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from minitransformer.errors import UsageError
from minitransformer.exercises.catalogue import EXERCISES, Exercise, by_id
from minitransformer.exercises.student import STUDENT_MARKER, make_student_tree, strip_exercises

__all__ = ["EXERCISES", "Exercise", "by_id", "make_student_tree", "strip_exercises",
           "add_arguments", "run", "repo_root", "course_root", "tree_to_grade", "HELP"]


HELP = "course exercises: student version, check, progress"


def repo_root(start: Path | None = None) -> Path:
    """The repository containing ``start`` (default: the current directory), found by its
    ``pyproject.toml`` beside a ``minitransformer/`` package."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "minitransformer").is_dir():
            return folder
    return Path(__file__).resolve().parents[2]


def course_root(start: Path | None = None) -> Path | None:
    """The course copy containing ``start`` (default: the current directory): the nearest folder,
    ``start`` itself or above it, holding the ``.student-tree`` file; ``None`` outside one."""
    here = (start or Path.cwd()).resolve()
    return next((folder for folder in (here, *here.parents) if (folder / STUDENT_MARKER).is_file()), None)


def tree_to_grade(command: str, reference: bool, start: Path | None = None) -> tuple[Path, str]:
    """``(folder, what it is)`` for ``exercises check`` / ``progress``.

    The course copy around ``start``; with ``reference``, the repository this package comes from.

    Raises:
        UsageError: outside a course copy without ``reference`` (the message gives the commands
            to make one), or ``reference`` where the package has no repository with tests.
    """
    if reference:
        root = repo_root(Path(__file__).parent)
        if not (root / "tests").is_dir():
            raise UsageError(f"--reference: {root} holds no tests (the package was installed without "
                             "its repository); run the command in a clone of the repository")
        return root, "the reference solution"
    root = course_root(start)
    if root is None:
        here = (start or Path.cwd()).resolve()
        raise UsageError(
            f"{here} is not inside a course copy (no {STUDENT_MARKER} file here or above); make one "
            f"and grade it there: minitransformer exercises make ~/course && cd ~/course && "
            f"minitransformer exercises {command} (or add --reference to grade the reference solution)")
    return root, "the course copy"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``exercises`` sub-commands to ``parser``."""
    commands = parser.add_subparsers(dest="exercises_command", required=True)
    commands.add_parser("list", help="list the exercises")
    make = commands.add_parser("make", help="write the student version of the repository")
    make.add_argument("dest", help="destination folder (new or empty)")
    make.add_argument("--upto", default=None, help="keep the solutions of exercises before this id")
    check = commands.add_parser("check", help="run one exercise's tests in this course copy and print "
                                "a verdict")
    check.add_argument("id")
    progress = commands.add_parser("progress", help="print the status of every exercise in this course copy")
    for sub in (check, progress):
        sub.add_argument("--reference", action="store_true",
                         help="grade the reference solution (the repository this package comes from) "
                              "instead of the course copy you are in")


def run(args: argparse.Namespace) -> int:
    """Run the parsed ``exercises`` command; returns the exit status."""
    from minitransformer.exercises import grading

    if args.exercises_command == "list":
        for e in EXERCISES:
            print(f"{e.id:>5}  {'*' * e.difficulty:<3}  {e.title}  ({e.file}: {e.function})")
        return 0
    if args.exercises_command == "make":
        if args.upto is not None:  # an unknown id is refused before anything is written
            try:
                by_id(args.upto)
            except KeyError as err:
                raise UsageError(f"--upto: {err.args[0]}") from None
        dest = make_student_tree(repo_root(Path(__file__).parent), args.dest, upto=args.upto)
        print(f"wrote the student version to {dest}\nnext: cd {dest} && make test")
        return 0
    command = f"check {args.id}" if args.exercises_command == "check" else "progress"
    if args.exercises_command == "check":
        try:  # an unknown id is refused before anything runs
            exercise = by_id(args.id)
        except KeyError as err:
            raise UsageError(f"id: {err.args[0]}") from None
    repo, what = tree_to_grade(command, args.reference)
    print(f"grading {what} in {repo}", flush=True)
    if args.exercises_command == "check":
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
