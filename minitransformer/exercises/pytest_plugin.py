"""A pytest plugin that grades exercises (loaded by ``tests/conftest.py``).

* A test that raises the ``NotImplementedError`` of an exercise it does **not** grade is
  reported as *skipped: blocked by exercise X* instead of failed: the student has not reached X.
* A test that raises its **own** exercise's ``NotImplementedError`` fails with a one-line
  "not started" message instead of a traceback.
* ``--exercise ID`` runs only the tests marked ``@pytest.mark.exercise("ID")``.
* ``--exercise-report FILE`` writes every test's outcome and exercise ids as JSON, which
  ``minitransformer exercises check/progress`` turn into a verdict, beside the folder the
  ``minitransformer`` package was imported from (so the grader can tell which tree it graded):
  ``{"package": "/path/to/minitransformer", "outcomes": [{"test": ..., "status": ...}, ...]}``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOT_IMPLEMENTED = re.compile(r"Exercise (\d+\.\d+)")


def pytest_addoption(parser):
    group = parser.getgroup("exercises")
    group.addoption("--exercise", action="append", default=[],
                    help="run only the tests of this exercise id (repeatable)")
    group.addoption("--exercise-report", default=None, help="write outcomes as JSON to this file")


_CONFIG: list = []  # the running config, for hooks that are not handed one


def pytest_configure(config):
    config.addinivalue_line("markers", "exercise(id): the course exercise this test grades")
    config._exercise_outcomes = []
    _CONFIG[:] = [config]


def _ids(item) -> list[str]:
    return [mark.args[0] for mark in item.iter_markers("exercise") if mark.args]


def pytest_collection_modifyitems(config, items):
    wanted = set(config.getoption("--exercise"))
    if not wanted:
        return
    selected = [item for item in items if wanted & set(_ids(item))]
    deselected = [item for item in items if not wanted & set(_ids(item))]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
    items[:] = selected


def _exercise_in(excinfo) -> str | None:
    """The exercise id of a student-version ``NotImplementedError`` anywhere in the chain."""
    error = excinfo.value if excinfo is not None else None
    while error is not None:
        if isinstance(error, NotImplementedError):
            match = NOT_IMPLEMENTED.match(str(error))
            if match:
                return match[1]
        error = error.__cause__ or error.__context__
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    own = _ids(item)
    missing = _exercise_in(call.excinfo) if report.failed else None
    status = report.outcome
    if missing is not None and missing not in own:
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"blocked by exercise {missing}")
        status = "blocked"
    elif missing is not None:
        report.longrepr = f"Exercise {missing} not started: {call.excinfo.value}"
        status = "not_started"
    if report.when == "call" or report.outcome != "passed":
        message = ""
        if status == "failed" and report.longrepr is not None:
            message = getattr(report.longrepr, "reprcrash", None)
            message = message.message if message is not None else str(report.longrepr)[-2000:]
        doc = (getattr(getattr(item, "obj", None), "__doc__", None) or "").strip().split("\n")[0]
        item.config._exercise_outcomes.append({
            "test": item.nodeid, "when": report.when, "exercises": own, "status": status,
            "blocked_by": missing, "message": message, "property": doc,
        })


def pytest_collectreport(report):
    """A test module that cannot even be imported is a failure of every test in it."""
    if report.failed:
        config = getattr(report, "config", None) or _CONFIG[0]
        message = str(report.longrepr)[-2000:]
        match = NOT_IMPLEMENTED.search(message)
        config._exercise_outcomes.append({
            "test": report.nodeid, "when": "collect", "exercises": [],
            "status": "collect_error", "blocked_by": match[1] if match else None, "message": message,
        })


def pytest_sessionfinish(session):
    path = session.config.getoption("--exercise-report")
    if path:
        import minitransformer

        report = {"package": str(Path(minitransformer.__file__).resolve().parent),
                  "outcomes": session.config._exercise_outcomes}
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=1)
