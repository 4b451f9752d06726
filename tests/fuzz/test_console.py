"""The console script behaves as ``main`` in-process does: a few cases run through a real
``minitransformer`` process give the same one line on stderr and exit status 2."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.harness import TALLY, expect_refusal

ROOT = Path(__file__).resolve().parents[2]


def console_script() -> list[str]:
    """The installed ``minitransformer`` script beside this Python, else ``python -m minitransformer``."""
    script = Path(sys.executable).with_name("minitransformer")
    found = script if script.is_file() else shutil.which("minitransformer")
    return [str(found)] if found else [sys.executable, "-m", "minitransformer"]


def run_console(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("MINITRANSFORMER_DEBUG", None)
    return subprocess.run(console_script() + argv, cwd=cwd, env=env, capture_output=True, text=True,
                          encoding="utf-8", timeout=120)


@pytest.fixture(scope="module")
def cases(built, tmp_path_factory):
    folder = tmp_path_factory.mktemp("console")
    latin = folder / "questions-latin1.csv"
    latin.write_bytes("text,category\ncafé au lait,drinks\nthé,drinks\n".encode("latin-1"))
    risk = built("risk")
    return [  # a bad file, a bad option, a bad model folder, a run folder that is taken
        ["qa", "train", "--data", str(latin), "--out", str(folder / "qa-run")],
        ["risk", "train", "--data", str(risk.data), "--out", str(folder / "risk-run"), "--epochs", "0"],
        ["forecast", "predict", "--model", str(folder), "--data", str(folder)],
        ["risk", "train", "--data", str(risk.data), "--out", str(risk.model)],
    ]


def test_the_console_script_gives_the_same_one_line_and_status(cases, capsys, sandbox):
    for argv in cases:
        process = run_console(argv, sandbox)
        TALLY.cases += 1
        if "Traceback" in process.stderr:
            TALLY.tracebacks += 1
        in_process = expect_refusal(argv, capsys, what="the same case in-process")
        assert (process.returncode, process.stderr) == (2, in_process.err), (argv, process.stderr)
        assert process.stdout == in_process.out
