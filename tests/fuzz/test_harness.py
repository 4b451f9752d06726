"""The rules of a fuzz case can fail: commands that break them one at a time are caught (run on
stand-in commands; their cases are not counted in the suite's total)."""

from __future__ import annotations

import re
import sys

import pytest

from tests.fuzz import harness
from tests.fuzz.harness import TALLY, FuzzFailure, expect_refusal, expect_success

ERROR = "minitransformer: error: "


@pytest.fixture
def stand_in(monkeypatch):
    """``stand_in(command)``: the cases below run ``command(argv)`` instead of the real main."""
    counts = (TALLY.cases, TALLY.tracebacks)
    monkeypatch.delenv("MINITRANSFORMER_FUZZ_LOG", raising=False)  # not the suite's failures

    def use(command):
        monkeypatch.setattr(harness, "main", command)

    yield use
    TALLY.cases, TALLY.tracebacks = counts


def refuse(message):
    def command(argv):
        print(ERROR + message, file=sys.stderr)
        return 2
    return command


def test_a_clean_refusal_passes(stand_in, capsys, tmp_path):
    stand_in(refuse(f"{tmp_path / 'data.csv'}, line 3: not UTF-8 text"))
    refused = expect_refusal([], capsys, what="x", names=["data.csv"], line=3, watched=[tmp_path])
    assert refused.status == 2 and not refused.traceback


@pytest.mark.parametrize("command, problem", [
    (lambda argv: 0, "exit status 0, expected 2"),
    (lambda argv: 1 / 0, "a traceback"),
    (lambda argv: print("Traceback (most recent call last):", file=sys.stderr) or 2, "a traceback"),
    (lambda argv: print(ERROR + "a\n" + ERROR + "b", file=sys.stderr) or 2, "stderr has 2 line(s)"),
    (lambda argv: print("warning: x\n" + ERROR + "data.csv", file=sys.stderr) or 2, "stderr has 2 line(s)"),
    (lambda argv: print("error: data.csv", file=sys.stderr) or 2, "expected one starting"),
    (refuse("something is wrong"), "the message names none of ['data.csv', 'data']"),
    (refuse("data.csv: a bad value"), "the message does not name line 3"),
    (refuse("data.csv, line 33: a bad value"), "the message does not name line 3"),
], ids=["accepted", "raised", "printed traceback", "two errors", "a warning first", "no prefix", "unnamed",
        "no line", "another line"])
def test_each_broken_rule_is_reported(stand_in, capsys, command, problem):
    stand_in(command)
    with pytest.raises(FuzzFailure, match=re.escape(problem)):
        expect_refusal(["risk", "train"], capsys, what="x", names=["data.csv"], words=["data"], line=3)


def test_a_changed_input_and_a_written_out_folder_are_reported(stand_in, capsys, tmp_path):
    data, out = tmp_path / "data.csv", tmp_path / "out"
    data.write_text("a,b\n1,2\n")

    def overwrite(argv):
        data.write_text("a,b\n")
        out.mkdir()
        (out / "config.json").write_text("{}")
        print(ERROR + "data.csv: refused", file=sys.stderr)
        return 2

    stand_in(overwrite)
    with pytest.raises(FuzzFailure, match=r"data.csv changed; wrote config.json into out"):
        expect_refusal([], capsys, what="x", watched=[data], fresh=[out])


def test_a_valid_input_must_be_accepted(stand_in, capsys):
    stand_in(refuse("data.csv: refused"))
    with pytest.raises(FuzzFailure, match="exit status 2, expected 0"):
        expect_success([], capsys, what="valid")


def test_a_case_that_does_not_end_is_stopped(stand_in, capsys, monkeypatch):
    import time

    monkeypatch.setattr(harness, "CASE_SECONDS", 0.2)
    stand_in(lambda argv: time.sleep(10))
    with pytest.raises(FuzzFailure, match="no answer: still running after"):
        expect_refusal([], capsys, what="x")
