"""Check first, write after: a refused training changes nothing, and a run folder belongs to one
process at a time."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from minitransformer.cli.main import main
from minitransformer.errors import UsageError
from minitransformer.files.run_folder import claim_run_folder
from tasks.forecasting import load, predict, train
from tests.tasks.forecasting.series import folder_digest, tiny_long, tiny_settings, write

ROOT = Path(__file__).resolve().parents[3]
TINY = ["--horizon", "4", "--context", "8", "--patch-len", "4", "--d-model", "8", "--layers", "1",
        "--members", "1", "--epochs", "1", "--no-refit", "--device", "cpu"]


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A trained run folder, its data, and the forecasts it gives."""
    folder = tmp_path_factory.mktemp("run")
    data = tiny_long(folder, promo=False)
    assert main(["forecast", "train", "--data", str(data), "--out", str(folder / "run"), *TINY]) == 0
    return folder / "run", data, predict(load(folder / "run"), data).values


def _bad(folder: Path, name: str, text: str) -> str:
    return str(write(folder, name, text))


@pytest.mark.parametrize("change", [
    "same run again",                                      # --out already holds a run
    "bad data",                                            # a NaN in the data
    "bad date",
    "horizon 0",                                           # refused by argparse
    "frequency beyond every series",                       # refused after reading the data
    "model too big for memory",                            # refused before allocating
    "batch beyond any machine",
    "resume",                                              # not offered: argparse refuses it
])
def test_a_refused_training_leaves_the_run_folder_byte_identical(run_folder, tmp_path, capsys, change):
    out, data, forecasts = run_folder
    before = folder_digest(out)
    argv = ["forecast", "train", "--data", str(data), "--out", str(out), *TINY]
    if change == "bad data":
        argv[3] = _bad(tmp_path, "nan.csv", "series_id,date,value\na,2024-01-01,1\na,2024-01-08,nan\n")
    elif change == "bad date":
        argv[3] = _bad(tmp_path, "date.csv", "series_id,date,value\na,2024-01-01,1\na,08/01/2024,2\n")
    elif change == "horizon 0":
        argv[argv.index("--horizon") + 1] = "0"
    elif change == "frequency beyond every series":
        argv += ["--frequency", "500"]
    elif change == "model too big for memory":
        argv[argv.index("--d-model") + 1] = str(10**8)
    elif change == "batch beyond any machine":
        argv += ["--batch-size", str(10**30)]
    elif change == "resume":
        argv += ["--resume", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert folder_digest(out) == before                                  # not a byte changed
    np.testing.assert_array_equal(predict(load(out), data).values, forecasts)


def test_the_python_verb_refuses_before_writing_too(run_folder, tmp_path):
    out, data, _ = run_folder
    before = folder_digest(out)
    with pytest.raises(UsageError, match=f"{out}: already holds files"):
        train(data, out, tiny_settings(refit=False), verbose=False)
    for kwargs, message in (({"seed": -1}, "seed: expected an integer"),
                            ({"device": "gpu"}, "device: expected"),
                            ({"horizon": 0}, "horizon: expected a positive integer")):
        with pytest.raises(ValueError, match=message):
            train(data, tmp_path / "new", tiny_settings(refit=False), verbose=False, **kwargs)
    assert folder_digest(out) == before and not (tmp_path / "new").exists()   # nothing written at all


def test_bad_data_leaves_no_new_folder_behind(tmp_path, capsys):
    bad = _bad(tmp_path, "bad.csv", '"V1","V2","V3"\n"W1",1,-4\n')
    assert main(["forecast", "train", "--data", bad, "--out", str(tmp_path / "new"), *TINY]) == 2
    assert "bad.csv, line 2, column 'V3'" in capsys.readouterr().err and not (tmp_path / "new").exists()


def test_a_second_training_into_a_held_folder_is_refused_at_once(tmp_path):
    """The test process holds the claim (as a running training would); a second process's
    ``forecast train`` into the same folder stops at once, naming the folder, and writes nothing."""
    data = tiny_long(tmp_path, promo=False)
    out = tmp_path / "busy"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    with claim_run_folder(out):
        start = time.monotonic()
        command = [sys.executable, "-m", "minitransformer", "forecast", "train", "--data", str(data),
                   "--out", str(out), *TINY]
        proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
        seconds = time.monotonic() - start
        if "NotImplementedError: Exercise" in proc.stderr:  # a student tree: blocked by that exercise
            raise NotImplementedError(proc.stderr.strip().splitlines()[-1].split(": ", 1)[1])
        assert sorted(p.name for p in out.iterdir()) == [".lock"]     # the second process wrote nothing
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (f"minitransformer: error: {out}: another training (process {os.getpid()}) "
                                   "is writing to this folder; wait for it or choose another folder")
    assert seconds < 60                                                # refused, not waiting for the lock
    shutil.rmtree(out)
    assert main(["forecast", "train", "--data", str(data), "--out", str(out), *TINY]) == 0   # free again
