"""The ``>>>`` examples in the docstrings of the package and the task heads run (doctest).

Every module under ``minitransformer/``, ``tasks/`` and the test-only head ``tests/heads/`` whose
source contains an example is imported and its examples are run; an example whose output drifts
from the code fails here, and every head's four verbs must each have an example. In a student
copy of the course, an example that reaches an unsolved exercise raises that exercise's
``NotImplementedError``, which the exercise plugin reports as blocked.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for package in ("minitransformer", "tasks", "tests/heads")
    for path in (ROOT / package).rglob("*.py")
    if ">>> " in path.read_text(encoding="utf-8")
)
HEADS = ["tasks.recommendation", "tasks.qa", "tasks.forecasting", "tasks.risk", "tests.heads.reviews"]
VERBS = ("train", "load", "evaluate", "predict")
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def run_examples(test: doctest.DocTest) -> None:
    """Run one docstring's examples, stopping at the first that fails; an unexpected exception is
    raised again as itself (so an unsolved exercise's ``NotImplementedError`` reaches the plugin)."""
    try:
        doctest.DebugRunner(optionflags=FLAGS).run(test, clear_globs=True)
    except doctest.UnexpectedException as err:
        raise err.exc_info[1].with_traceback(err.exc_info[2]) from None
    except doctest.DocTestFailure as err:
        line = test.lineno + err.example.lineno + 1
        pytest.fail(f"{test.name} (line {line}): {err.example.source.strip()}\n"
                    f"expected: {err.example.want.strip()}\ngot:      {err.got.strip()}", pytrace=False)


def test_some_modules_have_examples():
    assert MODULES, "no docstring examples found: did the scan break?"


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, one_thread):
    module = importlib.import_module(name)
    tests = [t for t in doctest.DocTestFinder().find(module, name) if t.examples]
    assert tests, f"{name}: '>>> ' found in the source but no example collected"
    for test in tests:
        run_examples(test)


@pytest.mark.parametrize("head", HEADS)
def test_every_verb_of_a_head_has_an_example(head):
    package = importlib.import_module(head)
    for verb in VERBS:
        function = getattr(package, verb)
        assert callable(function), f"{head}.{verb} is not a function"
        assert ">>> " in (function.__doc__ or ""), f"{head}.{verb}: no runnable example in its docstring"
