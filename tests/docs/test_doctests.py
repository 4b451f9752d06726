"""The ``>>>`` examples in the docstrings of the package and the task heads run (doctest).

Every module under ``minitransformer/``, ``tasks/`` and the test-only head ``tests/heads/`` whose
source contains an example is imported and its examples are run; an example whose output drifts
from the code fails here.
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


def test_some_modules_have_examples():
    assert MODULES, "no docstring examples found: did the scan break?"


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, one_thread):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name}: '>>> ' found in the source but no example collected"
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} docstring examples failed"
