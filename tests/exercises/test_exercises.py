"""The exercise tooling: regions, the catalogue, the student tree, and grading verdicts."""

from __future__ import annotations

import py_compile
import re
from pathlib import Path

import pytest

from minitransformer.exercises import grading
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
def test_check_reports_not_started_then_passed(tmp_path):
    """Grading: a stripped exercise is 'not started'; the solution tree passes it."""
    tree = make_student_tree(REPO, tmp_path / "course", only_missing="1.3")
    status, hint = grading.check(tree, "1.3")
    assert status == "not started", hint
    assert "masks.py" in hint
    status, hint = grading.check(REPO, "1.3")
    assert status == "passed", hint
