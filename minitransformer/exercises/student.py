"""Write the student version of the repository: exercise regions become ``NotImplementedError``.

Everything else is copied unchanged, docstrings and tests included. ``upto`` keeps the
solutions of every exercise whose id is *smaller* than it, so ``--upto 2.1`` hands out
chapter 2 onwards with chapter 1 already solved.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from minitransformer.exercises.catalogue import EXERCISES, by_id, sort_key

__all__ = ["strip_exercises", "make_student_tree", "find_regions", "STUDENT_MARKER"]

BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN EXERCISE (?P<id>\d+\.\d+)\s*$")
END = re.compile(r"^\s*# END EXERCISE\s*$")
ONE_LINE = re.compile(r"^(?P<indent>\s*)(?P<code>\S.*?)\s*# EXERCISE (?P<id>\d+\.\d+)\s*$")
STUDENT_MARKER = ".student-tree"  # a file at the root of generated trees
SOURCE_DIRS = ("minitransformer", "tasks")
SKIP = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis", "site",
        "runs", "demo-report"}


def _todo(indent: str, exercise_id: str) -> str:
    titles = {e.id: (e.title, e.docs) for e in EXERCISES}
    title, docs = titles.get(exercise_id, ("exercise", "docs/exercises/"))
    return f'{indent}raise NotImplementedError("Exercise {exercise_id}: {title}. See {docs}")\n'


def find_regions(text: str) -> list[str]:
    """The exercise ids marked in ``text``, in order of appearance (repeats kept)."""
    ids = []
    for line in text.splitlines():
        match = BEGIN.match(line) or ONE_LINE.match(line)
        if match:
            ids.append(match["id"])
    return ids


def strip_exercises(text: str, keep: set[str] | None = None, source: str = "<text>") -> str:
    """Replace each exercise region not in ``keep`` by a ``raise NotImplementedError``.

    The markers of kept regions stay, so a partially handed-out tree can be stripped again.
    """
    keep = keep or set()
    out: list[str] = []
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        line = lines[i]
        begin = BEGIN.match(line)
        if begin:
            end = next((j for j in range(i + 1, len(lines)) if END.match(lines[j])), None)
            if end is None:
                raise ValueError(f"{source}:{i + 1}: BEGIN EXERCISE {begin['id']} has no END EXERCISE")
            if begin["id"] in keep:
                out.extend(lines[i : end + 1])
            else:
                out.append(line)
                out.append(_todo(begin["indent"], begin["id"]))
                out.append(lines[end])
            i = end + 1
            continue
        one = ONE_LINE.match(line)
        if one and one["id"] not in keep:
            out.append(_todo(one["indent"], one["id"]).rstrip("\n") + f"  # EXERCISE {one['id']}\n")
        else:
            out.append(line)
        i += 1
    return "".join(out)


def _tracked_files(repo: Path) -> list[Path]:
    """Files git tracks plus untracked, non-ignored ones; a plain walk when git is absent."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=repo, capture_output=True, check=True).stdout.decode().split("\0")
        return [repo / name for name in listed if name and (repo / name).is_file()]
    except (OSError, subprocess.CalledProcessError):
        return [p for p in repo.rglob("*") if p.is_file() and not SKIP & set(p.relative_to(repo).parts)]


def make_student_tree(repo: str | Path, dest: str | Path, upto: str | None = None,
                      only_missing: str | None = None) -> Path:
    """Copy ``repo`` to ``dest`` with exercise regions replaced.

    Args:
        repo: the solution repository root.
        dest: where to write the student repository (must not exist or be empty).
        upto: keep solutions of exercises with smaller ids than this one.
        only_missing: strip only this exercise (keep every other solution); used by the
            course's own CI to check each exercise in isolation.
    """
    repo, dest = Path(repo).resolve(), Path(dest).resolve()
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest}: destination exists and is not empty")
    all_ids = {e.id for e in EXERCISES}
    if upto is not None:
        by_id(upto)  # validates the id
        keep = {i for i in all_ids if sort_key(i) < sort_key(upto)}
    elif only_missing is not None:
        by_id(only_missing)
        keep = all_ids - {only_missing}
    else:
        keep = set()
    for path in _tracked_files(repo):
        rel = path.relative_to(repo)
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel.suffix == ".py" and rel.parts[0] in SOURCE_DIRS:
            text = path.read_text(encoding="utf-8")
            target.write_text(strip_exercises(text, keep, str(rel)), encoding="utf-8")
        else:
            shutil.copy2(path, target)
    (dest / STUDENT_MARKER).write_text(f"upto={upto or ''}\nonly_missing={only_missing or ''}\n")
    return dest
