"""The exercise tooling: regions, the catalogue, the student tree, and grading verdicts."""

from __future__ import annotations

import os
import py_compile
import re
import subprocess
import sys
from pathlib import Path

import pytest

from minitransformer.errors import UsageError
from minitransformer.exercises import course_root, grading, tree_to_grade
from minitransformer.exercises.catalogue import EXERCISES, by_id, sort_key
from minitransformer.exercises.student import (
    STUDENT_MARKER,
    find_regions,
    make_student_tree,
    strip_exercises,
)

REPO = Path(__file__).resolve().parents[2]
IN_STUDENT_TREE = (REPO / STUDENT_MARKER).exists()
needs_solutions = pytest.mark.skipif(IN_STUDENT_TREE, reason="needs the solution tree")

SOURCE = '''def f(x):
    """Docstring stays."""
    # BEGIN EXERCISE 1.1
    y = x + 1
    return y
    # END EXERCISE


def g(x):
    return x * 2  # EXERCISE 1.2
'''


def test_region_becomes_not_implemented_with_indentation_and_docs_link():
    """A BEGIN/END region is replaced by one raise at the region's indentation."""
    out = strip_exercises(SOURCE)
    assert "y = x + 1" not in out
    assert '    raise NotImplementedError("Exercise 1.1: ' in out
    assert "docs/exercises/attention.md" in out
    assert '"""Docstring stays."""' in out


def test_one_line_form_is_replaced_too():
    """``code  # EXERCISE id`` becomes a raise that keeps the marker."""
    out = strip_exercises(SOURCE)
    assert "return x * 2" not in out
    assert re.search(r'raise NotImplementedError\("Exercise 1\.2: .*# EXERCISE 1\.2', out)


def test_kept_exercises_are_left_untouched():
    """Exercises listed in ``keep`` keep their solution and markers."""
    assert strip_exercises(SOURCE, keep={"1.1", "1.2"}) == SOURCE


def test_stripped_code_still_compiles_and_raises_the_exercise_error():
    """The student version is valid Python, and calling a stripped function names its exercise."""
    namespace: dict = {}
    exec(compile(strip_exercises(SOURCE), "<student>", "exec"), namespace)
    assert namespace["f"].__doc__ == "Docstring stays."
    with pytest.raises(NotImplementedError, match=r"^Exercise 1\.1: "):
        namespace["f"](1)
    with pytest.raises(NotImplementedError, match=r"^Exercise 1\.2: "):
        namespace["g"](1)


def test_unclosed_region_is_an_error_naming_the_line():
    """A BEGIN without END is reported with its file and line."""
    with pytest.raises(ValueError, match=r"f\.py:1: BEGIN EXERCISE 3\.1 has no END"):
        strip_exercises("# BEGIN EXERCISE 3.1\nx = 1\n", source="f.py")


def test_unknown_exercise_id_lists_the_known_ones():
    """by_id names the known ids when asked for a missing one."""
    with pytest.raises(KeyError, match="known exercises: 1.1"):
        by_id("9.9")


def _marked_test_ids() -> set[str]:
    ids = set()
    for path in (REPO / "tests").rglob("test_*.py"):
        ids |= set(re.findall(r'mark\.exercise\("(\d+\.\d+)"\)', path.read_text(encoding="utf-8")))
    return ids


@needs_solutions
def test_catalogue_matches_the_markers_in_the_source():
    """Every marked region is catalogued, and every catalogued exercise has a region and tests."""
    marked = set()
    for folder in ("minitransformer", "tasks"):
        for path in (REPO / folder).rglob("*.py"):
            marked |= set(find_regions(path.read_text(encoding="utf-8")))
    catalogued = {e.id for e in EXERCISES}
    assert marked - catalogued == set(), "regions whose id is not in the catalogue"
    assert catalogued - marked == set(), "catalogued exercises without a region in the source"
    for exercise in EXERCISES:
        assert exercise.id in find_regions((REPO / exercise.file).read_text(encoding="utf-8")), exercise.id
        assert all(sort_key(p) < sort_key(exercise.id) for p in exercise.prerequisites), exercise.id
    assert catalogued - _marked_test_ids() == set(), "exercises without a marked test"
    assert len(EXERCISES) >= 16


@needs_solutions
def test_student_tree_compiles_and_upto_keeps_earlier_solutions(tmp_path):
    """``make DIR --upto 2.1`` strips 2.1 and later, keeps chapter 1, and every file compiles."""
    tree = make_student_tree(REPO, tmp_path / "course", upto="2.1")
    assert (tree / STUDENT_MARKER).exists()
    assert (tree / "tests" / "nn" / "test_functional.py").exists()
    for path in (tree / "minitransformer").rglob("*.py"):
        py_compile.compile(str(path), doraise=True)
    functional = (tree / "minitransformer" / "nn" / "functional.py").read_text(encoding="utf-8")
    attention = (tree / "minitransformer" / "nn" / "attention.py").read_text(encoding="utf-8")
    assert "NotImplementedError" not in functional
    assert 'raise NotImplementedError("Exercise 2.1' in attention


@needs_solutions
def test_destination_must_be_new_or_empty(tmp_path):
    """Writing over a non-empty folder is refused."""
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        make_student_tree(REPO, tmp_path)


@needs_solutions
def test_check_reports_not_started_with_the_file_to_edit(tmp_path):
    """Grading: a stripped exercise is 'not started', and the hint names its file (the solution
    tree passing it: see test_grading_the_reference_solution_takes_a_flag_and_says_so)."""
    tree = make_student_tree(REPO, tmp_path / "course", only_missing="1.3")
    status, hint = grading.check(tree, "1.3")
    assert status == "not started", hint
    assert "masks.py" in hint


def _minitransformer(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``python -m minitransformer ARGS`` in ``cwd``, as a student would from a shell there."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-m", "minitransformer", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@needs_solutions
def test_student_walk_through_grades_the_course_copy_and_nothing_else(tmp_path):
    """Make a course copy; progress: all not started; implement 1.1: it turns green; checking
    from outside the copy is refused with the command to run; every verdict names its folder."""
    course = tmp_path / "course"
    made = _minitransformer("exercises", "make", str(course), cwd=tmp_path)
    assert made.returncode == 0, made.stderr

    progress = _minitransformer("exercises", "progress", cwd=course / "docs")  # from a subfolder too
    assert progress.returncode == 0, progress.stderr
    assert f"grading the course copy in {course.resolve()}" in progress.stdout
    rows = [line for line in progress.stdout.splitlines() if re.match(r"\s*\d+\.\d+\s", line)]
    assert len(rows) == len(EXERCISES)
    assert all(row.endswith("not started") for row in rows), progress.stdout
    assert f"0/{len(EXERCISES)} exercises passed" in progress.stdout

    # the student writes exercise 1.1: the reference solution's region, the rest still stripped
    source = (REPO / "minitransformer" / "nn" / "functional.py").read_text(encoding="utf-8")
    (course / "minitransformer" / "nn" / "functional.py").write_text(
        strip_exercises(source, keep={"1.1"}), encoding="utf-8")
    check = _minitransformer("exercises", "check", "1.1", cwd=course)
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"grading the course copy in {course.resolve()}" in check.stdout
    assert "Exercise 1.1 (Stable softmax (forward and backward)): PASSED" in check.stdout

    outside = _minitransformer("exercises", "check", "1.2", cwd=tmp_path)
    assert outside.returncode == 2
    assert "PASSED" not in outside.stdout and "Traceback" not in outside.stderr
    message = outside.stderr.strip()
    assert message.count("\n") == 0, message
    assert "is not inside a course copy" in message
    assert ("minitransformer exercises make ~/course && cd ~/course && "
            "minitransformer exercises check 1.2") in message
    assert "--reference" in message


@needs_solutions
def test_grading_the_reference_solution_takes_a_flag_and_says_so(tmp_path):
    """``--reference`` grades the repository the package comes from, and prints its path."""
    refused = _minitransformer("exercises", "progress", cwd=tmp_path)
    assert refused.returncode == 2 and "exercises progress" in refused.stderr
    reference = _minitransformer("exercises", "check", "1.3", "--reference", cwd=tmp_path)
    assert reference.returncode == 0, reference.stdout + reference.stderr
    assert f"grading the reference solution in {REPO}" in reference.stdout
    assert "PASSED" in reference.stdout


def test_course_root_is_the_nearest_folder_with_the_marker(tmp_path):
    """course_root walks up from a subfolder; outside a copy it is None and grading is refused."""
    (tmp_path / "course" / "tests" / "nn").mkdir(parents=True)
    (tmp_path / "course" / STUDENT_MARKER).write_text("upto=\n")
    assert course_root(tmp_path / "course" / "tests" / "nn") == (tmp_path / "course").resolve()
    assert course_root(tmp_path) is None
    assert tree_to_grade("progress", False, tmp_path / "course") == ((tmp_path / "course").resolve(),
                                                                     "the course copy")
    with pytest.raises(UsageError, match=r"not inside a course copy.*exercises progress"):
        tree_to_grade("progress", False, tmp_path)


@needs_solutions
def test_grading_refuses_a_tree_whose_tests_import_another_package(tmp_path, monkeypatch):
    """Tests that import minitransformer from elsewhere (PYTHONPATH) cannot grade the copy."""
    tree = make_student_tree(REPO, tmp_path / "course", only_missing="1.3")
    (tree / "minitransformer").rename(tree / "moved")  # the copy's package is gone: REPO's is used
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    with pytest.raises(UsageError, match=r"imported minitransformer from .*another tree"):
        grading.check(tree, "1.3")
