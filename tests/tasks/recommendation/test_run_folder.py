"""A training checks everything first and writes after, into a run folder held by one process:
a refused training leaves an existing model byte for byte as it was."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from minitransformer.cli.main import main
from minitransformer.files.run_folder import claim_run_folder
from tasks.recommendation import TrainSettings, load, predict, train
from tasks.recommendation.synthetic import ShopConfig, write_purchases
from tests.tasks.recommendation.planted import tiny_config, tiny_settings

ROOT = Path(__file__).resolve().parents[3]
TINY = ["--epochs", "1", "--d-model", "16", "--layers", "1", "--max-len", "8", "--final-epochs", "0",
        "--eval-users", "50", "--device", "cpu"]
HISTORY = "phone-00 case-00"


def digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` -> the SHA-256 of its bytes."""
    return {path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def shop_run(tmp_path_factory):
    """A shop's log, a tiny model trained on it by the command line, and its answers."""
    folder = tmp_path_factory.mktemp("shop")
    write_purchases(folder / "shop.csv", ShopConfig.for_items(48, users=150, seed=2))
    assert main(["recommend", "train", "--data", str(folder / "shop.csv"), "--out", str(folder / "run"),
                 *TINY]) == 0
    return folder / "shop.csv", folder / "run", predict(load(folder / "run"), HISTORY, k=5)


@pytest.fixture
def other_shop(tmp_path):
    """Another shop's log: other items, in another order (what used to replace the item map)."""
    write_purchases(tmp_path / "other.csv", ShopConfig.for_items(96, users=60, seed=9))
    return tmp_path / "other.csv"


def refused(argv, capsys) -> str:
    """Run the command line; it must end with status 2 and one line on stderr, which is returned."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("minitransformer: error: ") and "Traceback" not in err
    return err


def test_a_training_into_a_used_folder_changes_nothing_and_the_old_model_answers_the_same(
        shop_run, other_shop, capsys):
    data, run, answers = shop_run
    before = digest(run)
    err = refused(["recommend", "train", "--data", str(other_shop), "--out", str(run), *TINY], capsys)
    assert f"--out {run}: already holds files" in err
    with pytest.raises(ValueError, match="already holds files"):
        train(other_shop, run, tiny_config(), settings=tiny_settings(epochs=1), device="cpu", verbose=False)
    assert digest(run) == before
    assert predict(load(run), HISTORY, k=5) == answers


@pytest.mark.parametrize("options, message", [
    (["--lr", "nan"], "--lr"), (["--heads", "3"], "--heads 3: must divide --d-model 16"),
    (["--max-len", "1000000000000"], "more than this machine's memory"),
])
def test_a_refused_option_writes_nothing(shop_run, tmp_path, capsys, options, message):
    data, run, _ = shop_run
    before = digest(run)
    for out in (tmp_path / "new", run):
        assert message in refused(["recommend", "train", "--data", str(data), "--out", str(out), *TINY,
                                   *options], capsys)
    assert not (tmp_path / "new").exists() and digest(run) == before


def test_refused_data_writes_nothing(tmp_path, capsys):
    (tmp_path / "bad.csv").write_text("user_id,item_id,timestamp\nu1,a,1\nu1,b,inf\n", encoding="utf-8")
    (tmp_path / "short.csv").write_text("user_id,item_id,timestamp\nu1,a,1\nu2,b,2\n", encoding="utf-8")
    argv = ["recommend", "train", "--out", str(tmp_path / "a"), *TINY, "--data"]
    assert "line 3, column timestamp" in refused([*argv, str(tmp_path / "bad.csv")], capsys)
    assert "no user has 2 or more training items" in refused([*argv, str(tmp_path / "short.csv")], capsys)
    with pytest.raises(ValueError, match="lr: expected a finite positive number"):
        train(tmp_path / "short.csv", tmp_path / "c", settings=TrainSettings(lr=float("inf")))
    with pytest.raises(ValueError, match="max_minutes"):
        train(tmp_path / "short.csv", tmp_path / "c", max_minutes=-1.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "short.csv"]


def test_resume_continues_the_same_data_and_refuses_other_items(shop_run, other_shop, tmp_path, capsys):
    data, run, answers = shop_run
    before = digest(run)
    err = refused(["recommend", "train", "--data", str(other_shop), "--resume", str(run), *TINY], capsys)
    assert f"--resume {run}: the data's items differ from the run's item_map.json" in err
    assert "checkpoint directory not found" in refused(
        ["recommend", "train", "--data", str(data), "--resume", str(tmp_path / "none"), *TINY], capsys)
    assert digest(run) == before and not (tmp_path / "none").exists()
    copy = tmp_path / "copy"  # a finished run resumed: nothing left to train, the same model
    copy.mkdir()
    for name, _ in before.items():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes((run / name).read_bytes())
    assert main(["recommend", "train", "--data", str(data), "--resume", str(copy), *TINY]) == 0
    assert predict(load(copy), HISTORY, k=5) == answers


def test_a_second_training_into_a_held_folder_is_refused_at_once(shop_run, tmp_path):
    """The folder is held here (as a training in this process would); the command line's train,
    in a process of its own, is refused at once, naming the folder, and writes nothing."""
    data, _, _ = shop_run
    out = tmp_path / "busy"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    with claim_run_folder(out):
        started = time.monotonic()
        argv = ["recommend", "train", "--data", str(data), "--out", str(out), *TINY]
        proc = subprocess.run([sys.executable, "-m", "minitransformer", *argv], capture_output=True,
                              text=True, env=env, cwd=ROOT, timeout=120)
        seconds = time.monotonic() - started
        assert sorted(p.name for p in out.iterdir()) == [".lock"]
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"minitransformer: error: {out}: another training (process {os.getpid()})")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert seconds < 60  # no waiting for the lock (the time is the interpreter's start)
    assert list(out.iterdir()) == []


def test_printed_metrics_have_at_most_four_decimals(shop_run, tmp_path, capsys):
    data, _, _ = shop_run
    assert main(["recommend", "train", "--data", str(data), "--out", str(tmp_path / "run"), *TINY]) == 0
    out = capsys.readouterr().out
    assert "valid NDCG@10 0." in out
    assert [decimals for decimals in re.findall(r"\d\.(\d+)", out) if len(decimals) > 4] == []
