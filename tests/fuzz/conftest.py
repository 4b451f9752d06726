"""The fuzz suite's fixtures (each head's data and a trained tiny model, built once per session),
its sandbox, and its count: ``fuzz suite: N cases, T tracebacks`` at the end of the run.

When every fuzz test was selected and ran, the run fails if fewer than :data:`MIN_CASES` cases
ran or any case ended in a traceback (a run of a few fuzz tests, ``-k`` or ``-x``, is not judged).
"""

from __future__ import annotations

import contextlib
import datetime
import io
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

from minitransformer.cli.main import main
from tests.files.holder import holder  # noqa: F401 - a fixture: a second process holding a run folder
from tests.files.snapshots import snapshot
from tests.fuzz.harness import TALLY
from tests.fuzz.heads import HEADS, Paths, write_csv
from tests.fuzz.tables import Table, read_table

MIN_CASES = 400
FUZZ_DIR = Path(__file__).parent

#: hypothesis settings of every fuzz property: the same examples on every machine, no deadline
#: (a case loads a model), no shrinking (a failing case is reported as generated: shrinking it
#: would rerun the command many times) and no example database
FUZZ = settings(derandomize=True, deadline=None, database=None, phases=(Phase.explicit, Phase.generate),
                suppress_health_check=list(HealthCheck), print_blob=False)


# ---------------------------------------------------------------------------- the count


def _is_fuzz(item: pytest.Item) -> bool:
    return FUZZ_DIR in Path(str(item.fspath)).parents


def pytest_itemcollected(item: pytest.Item) -> None:
    if _is_fuzz(item):
        TALLY.collected.add(item.nodeid)
        TALLY.modules.add(Path(str(item.fspath)))


def pytest_collection_finish(session: pytest.Session) -> None:
    TALLY.selected = {item.nodeid for item in session.items if _is_fuzz(item)}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.nodeid in TALLY.selected and (report.when == "call" or report.skipped):
        TALLY.finished.add(report.nodeid)


def _judged() -> bool:
    """Every fuzz test of every fuzz file was selected, and every one ran."""
    return (TALLY.modules == set(FUZZ_DIR.glob("test_*.py")) and TALLY.selected == TALLY.collected
            and TALLY.finished == TALLY.collected)


def _verdict() -> str | None:
    if not _judged():
        return None
    if TALLY.cases < MIN_CASES:
        return f"only {TALLY.cases} cases ran, fewer than {MIN_CASES}"
    if TALLY.tracebacks:
        return f"{TALLY.tracebacks} case(s) ended in a traceback"
    return None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _verdict() is not None and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config) -> None:
    if not TALLY.collected or not TALLY.finished:
        return
    line = f"fuzz suite: {TALLY.cases} cases, {TALLY.tracebacks} tracebacks"
    verdict = _verdict()
    if verdict:
        terminalreporter.write_line(f"{line} -- FAILED: {verdict}", red=True, bold=True)
    else:
        terminalreporter.write_line(line + ("" if _judged() else " (part of the suite)"))


# ---------------------------------------------------------------------------- the sandbox


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory) -> Path:
    """The working folder of every case: relative paths (``--out ""`` once meant ``.``) and
    default output files land here, never in the repository. It holds one file, so it is not
    an empty folder a command could take for its own."""
    folder = tmp_path_factory.mktemp("fuzz-cwd")
    (folder / "README.txt").write_text("the fuzz suite's working folder\n")
    return folder


@pytest.fixture(autouse=True)
def in_sandbox(sandbox, monkeypatch):
    monkeypatch.chdir(sandbox)
    monkeypatch.setattr(sys, "stdin", io.StringIO("where is my order?\n退款\n"))  # qa chat reads it
    monkeypatch.delenv("MINITRANSFORMER_DEBUG", raising=False)  # tracebacks only where they are bugs
    yield


# ---------------------------------------------------------------------------- each head, built once


@dataclass
class Built:
    """A head's files: its synthetic ``data`` (and QA's held-out ``questions``, the others in
    ``files``) and a model trained on it in ``model``, with the snapshot it must keep."""

    head: str
    root: Path
    data: Path
    files: dict[str, Path]
    model: Path
    items: str
    pristine: dict[str, str]

    @property
    def questions(self) -> Path | None:
        return self.files.get("questions")

    def table(self, verb: str) -> Table:
        return read_table(self.files[HEADS[self.head].table_base.get(verb, "data")])

    def valid_file(self, verb: str) -> Path:
        """The valid file a verb reads (its data, or the second file under test)."""
        return self.files[HEADS[self.head].table_base.get(verb, "data")]

    def paths(self, **changes) -> Paths:
        values = dict(data=self.data, model=self.model, out=self.root / "unused-out", items=self.items,
                      base=self.data)
        values.update(changes)
        return Paths(**values)

    def check_model(self) -> None:
        """The trained folder is as it was built (restored first if an earlier case broke it)."""
        if snapshot(self.model) != self.pristine:
            shutil.rmtree(self.model)
            shutil.copytree(self.root / "model-copy", self.model, symlinks=True)


def _run(argv: list[str], what: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    if status != 0:
        raise RuntimeError(f"{what} failed (status {status}): {' '.join(argv)}\n{out.getvalue()[-2000:]}"
                           f"{err.getvalue()[-2000:]}")


def _build(head: str, root: Path) -> Built:
    spec = HEADS[head]
    files = {}
    if head == "qa":  # the built-in bilingual FAQ: its training and held-out questions
        from tasks.qa.synthetic import faq_split

        train, held_out = faq_split()
        data = write_csv(root / "faq_train.csv", ["text", "category"], train)
        files["questions"] = write_csv(root / "faq_questions.csv", ["text", "category"], held_out)
        intents = sorted({label for _, label in train})[:5]
        answers = [(intent, f"Our answer about {intent}, 我们的回答") for intent in intents]
        files["answers"] = write_csv(root / "answers.csv", ["intent", "answer"], answers)
        model_argv = spec.command_line("train", Paths(data="builtin", out=root / "model"))
    else:
        data = root / f"{head}.csv"
        _run([head, "simulate", "--out", str(data), *spec.data_options], f"{head} simulate")
        model_argv = spec.command_line("train", Paths(data=data, out=root / "model"))
    if head == "forecast":  # the held-out weeks (evaluate --test), their promotions (predict --future)
        files["test"] = root / "forecast_test.csv"
        test = read_table(files["test"])
        keep = [test.column(name) for name in ("series_id", "date", "promo")]
        files["future"] = write_csv(root / "forecast_future.csv", ["series_id", "date", "promo"],
                                    [[row[j] for j in keep] for row in test.rows])
    if head == "risk":  # the transactions with an ISO-8601 time (risk train --time time)
        table = read_table(data)
        day, hour = table.column("day"), table.column("hour")
        start = datetime.datetime(2024, 1, 1)
        offsets = [datetime.timedelta(days=float(r[day]), hours=float(r[hour])) for r in table.rows]
        times = [(start + offset).isoformat(" ", "seconds") for offset in offsets]
        files["timed"] = write_csv(root / "risk_timed.csv", [*table.header, "time"],
                                   [[*row, time] for row, time in zip(table.rows, times)])
    files["data"] = data
    _run(model_argv, f"{head} train")
    items = ""
    if head == "recommend":
        table = read_table(data)
        column = table.column("item_id")
        items = " ".join(row[column] for row in table.rows[:2])
    shutil.copytree(root / "model", root / "model-copy", symlinks=True)
    return Built(head, root, data, files, root / "model", items, snapshot(root / "model"))


def _exercise_missing(error: BaseException | None) -> bool:
    """Whether ``error`` (or what caused it) is an exercise's ``NotImplementedError``."""
    while error is not None:
        if isinstance(error, NotImplementedError):
            return True
        error = error.__cause__ or error.__context__
    return False


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """``built(head)``: the head's data and trained model (made on first use, then kept)."""
    cache: dict[str, Built | Exception] = {}

    def get(head: str) -> Built:
        if head not in cache:
            try:
                cache[head] = _build(head, tmp_path_factory.mktemp(f"fuzz-{head}"))
            except Exception as err:  # noqa: BLE001 - reported by every test that needs it
                cache[head] = err
        found = cache[head]
        if isinstance(found, Exception) and _exercise_missing(found):  # a student tree: "blocked"
            raise found
        if isinstance(found, Exception):
            pytest.fail(f"cannot build the {head} head's tiny model: {type(found).__name__}: {found}",
                        pytrace=False)
        found.check_model()
        return found

    return get
