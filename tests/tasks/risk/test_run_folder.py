"""Check first, write after: a refused risk training changes nothing, and a run folder belongs to
one process at a time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tasks.risk
from minitransformer.cli.main import main
from minitransformer.files.run_folder import claim_run_folder
from tasks.risk.config import RiskTrainConfig, risk_encoder
from tests.tasks.risk.tables import snapshot, write_csv

TINY = ["--epochs", "1", "--d-model", "16", "--layers", "1", "--device", "cpu"]
ROOT = Path(__file__).resolve().parents[3]


def _scores(run_dir, data):
    return tasks.risk.predict(tasks.risk.load(run_dir), data).scores


@pytest.fixture()
def bad_data(tmp_path):
    return write_csv(tmp_path / "bad.csv", ["a", "y"], [(1, 0), ("nan", 1), (3, 0), (4, 1)])


def test_a_refused_training_leaves_an_existing_run_folder_byte_identical(tiny_model, bad_data, capsys):
    """The folder holds a run: training into it again (good data, bad data, a bad option) is refused
    with one line, every file keeps its bytes, and the old model loads and scores the same."""
    _, data, run_dir = tiny_model
    before, scores = snapshot(run_dir), _scores(run_dir, data)
    refusals = [
        ["--data", str(data)],                                   # the folder already holds a run
        ["--data", str(bad_data), "--target", "y"],              # and the data is bad too
        ["--data", str(data), "--lr", "0"],                      # an option out of range
        ["--data", str(data), "--seed", "-1"],
        ["--data", str(data), "--d-model", "12"],                # not a multiple of the 8 heads
    ]
    for flags in refusals:
        assert main(["risk", "train", *flags, "--out", str(run_dir), *TINY]) == 2, flags
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("minitransformer: error:") and "Traceback" not in err
    with pytest.raises(ValueError, match="already holds files"):
        tasks.risk.train(data, run_dir, device="cpu", verbose=False)
    assert snapshot(run_dir) == before
    assert np.array_equal(_scores(run_dir, data), scores)


def test_bad_data_or_options_write_nothing_at_all(tiny_model, bad_data, tmp_path, capsys):
    """Everything is checked before the first write: not even the folder is created."""
    _, data, _ = tiny_model
    new, empty = tmp_path / "new", tmp_path / "empty"
    empty.mkdir()
    tiny = RiskTrainConfig(encoder=risk_encoder(d_model=16, nhead=2, num_layers=1), epochs=1)
    for out in (new, empty):
        argv = ["risk", "train", "--data", str(bad_data), "--target", "y", "--out", str(out), *TINY]
        assert main(argv) == 2
        with pytest.raises(ValueError, match=r"seed \(--seed\)"):
            tasks.risk.train(data, out, tiny, seed=-1, verbose=False)
        with pytest.raises(ValueError, match=r"max_minutes \(--max-minutes\)"):
            tasks.risk.train(data, out, tiny, max_minutes=float("nan"), verbose=False)
        with pytest.raises(ValueError, match="device"):
            tasks.risk.train(data, out, tiny, device="tpu", verbose=False)
        with pytest.raises(ValueError, match=r"batch_size \(--batch-size\): expected an integer from 1 to"):
            tasks.risk.train(data, out, RiskTrainConfig(batch_size=10**21), verbose=False)
        with pytest.raises(ValueError, match="too few for 100 cross-fitted teachers"):  # before training
            tasks.risk.train(data, out, RiskTrainConfig(label_fraction=0.5, pseudo_teachers=100),
                             verbose=False)
        with pytest.raises(ValueError, match=r"--d-model/--layers: the configuration asks for"):
            tasks.risk.train(data, out, RiskTrainConfig(encoder=risk_encoder(d_model=2**16, num_layers=64)),
                             verbose=False)
    capsys.readouterr()
    assert not new.exists() and list(empty.iterdir()) == []


def test_a_second_training_into_a_held_folder_is_refused_at_once(tiny_model, tmp_path):
    """While this process holds the folder, ``risk train`` in another process stops at once with one
    line naming the folder; the folder keeps only the holder's lock."""
    _, data, _ = tiny_model
    out = tmp_path / "busy"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    with claim_run_folder(out):
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "minitransformer", "risk", "train", "--data", str(data),
                               "--out", str(out), *TINY], capture_output=True, text=True, timeout=120,
                              env=env, cwd=ROOT)
        seconds = time.monotonic() - started
        assert [p.name for p in out.iterdir()] == [".lock"]
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(out) in lines[0] and "another training" in lines[0], proc.stderr
    assert "epoch" not in proc.stdout and seconds < 60                      # refused before any training
    assert list(out.iterdir()) == []                                        # the lock left with its holder


def test_risk_cannot_resume(tiny_model, capsys):
    """A risk training is several trainings in a row, so there is no --resume to offer."""
    _, data, run_dir = tiny_model
    assert main(["risk", "train", "--data", str(data), "--out", str(run_dir), "--resume", str(run_dir)]) == 2
    assert "unrecognized arguments: --resume" in capsys.readouterr().err
    with pytest.raises(TypeError, match="resume"):
        tasks.risk.train(data, run_dir, resume=run_dir)
