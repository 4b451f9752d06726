"""Checkpoints: layout, atomic writes, exact resume (also after SIGKILL), clear errors."""

from __future__ import annotations

import json
import os
import runpy
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn
from torch.utils.data import TensorDataset

from minitransformer import Encoder
from minitransformer.nn.io import atomic_write_text
from minitransformer.training import (
    CheckpointError,
    TrainConfig,
    Trainer,
    find_checkpoint,
    load_checkpoint,
    load_train_state,
    save_checkpoint,
    seed_everything,
)
from minitransformer.training import checkpoint as checkpoint_module

# The training script used in-process (via runpy) and as a subprocess that gets SIGKILLed.
SCRIPT = r'''
import sys, time
from pathlib import Path
import torch
from torch import nn
from torch.utils.data import TensorDataset
from minitransformer.training import TrainConfig, Trainer, seed_everything

torch.set_num_threads(1)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 1))

    def forward(self, x):
        return self.net(x).squeeze(-1)


def data(n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g)
    return TensorDataset(x, x[:, :3].sum(-1).sin() + 0.1 * torch.randn(n, generator=g))


CONFIG = dict(epochs=3, batch_size=8, grad_accum_steps=2, lr=5e-3, warmup_steps=2, save_every=4,
              device="cpu", progress=False, verbose=False, seed=0, monitor="mse", patience=5)


class Crash(Exception):
    pass


def train(out, resume=None, stall_at_call=None, marker=None, crash_at_call=None):
    calls = {"n": 0}

    def loss_fn(model, batch):
        calls["n"] += 1
        if calls["n"] == crash_at_call:
            raise Crash(f"crash at call {crash_at_call}")
        if calls["n"] == stall_at_call:          # simulate a hang, then get killed
            Path(marker).write_text("ready")
            time.sleep(600)
        x, y = batch
        return nn.functional.mse_loss(model(x), y)

    def evaluate_fn(model, data):
        x, y = data.tensors
        return {"mse": nn.functional.mse_loss(model(x), y).item(),
                "noise": torch.rand(()).item()}   # consumes RNG, like sampled metrics do

    seed_everything(0)
    trainer = Trainer(Net(), TrainConfig(**CONFIG), loss_fn=loss_fn, train_data=data(96, 1),
                      valid_data=data(32, 2), evaluate_fn=evaluate_fn, out_dir=out)
    result = trainer.fit(resume=resume)
    return trainer, result


if __name__ == "__main__":
    train(sys.argv[1], stall_at_call=int(sys.argv[2]), marker=sys.argv[3])
'''


@pytest.fixture(scope="module")
def script(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("script") / "train_script.py"
    path.write_text(SCRIPT)
    return path


@pytest.fixture(scope="module")
def helpers(script):
    return runpy.run_path(str(script), run_name="train_helpers")


@pytest.fixture(scope="module")
def uninterrupted(helpers, tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("full") / "run"
    trainer, result = helpers["train"](out)
    return out, trainer, result


def _final_state(trainer, out: Path):
    last = find_checkpoint(out)
    return {
        "best": torch.cat([p.detach().flatten() for p in trainer.model.parameters()]),
        "last": load_file(str(last / "model.safetensors")),
        "step": trainer.step,
        "lr": trainer.optimizer.param_groups[0]["lr"],
        "losses": [r["train_loss"] for r in trainer.history],
        "optimizer": load_train_state(last / "train_state.pt")["optimizer"]["state"],
    }


def _assert_same_run(a, b):
    assert a["step"] == b["step"]
    assert a["lr"] == b["lr"]
    assert a["losses"] == b["losses"]
    assert torch.equal(a["best"], b["best"])
    assert a["last"].keys() == b["last"].keys()
    for name in a["last"]:
        assert torch.equal(a["last"][name], b["last"][name]), name
    for key in a["optimizer"]:
        for name in ("exp_avg", "exp_avg_sq"):
            assert torch.equal(a["optimizer"][key][name], b["optimizer"][key][name])


# ---------------------------------------------------------------------------- layout
def test_run_directory_layout(uninterrupted):
    out, trainer, result = uninterrupted
    assert result.steps == trainer.total_steps == 18 and result.stop_reason == "completed"
    names = {p.name for p in out.iterdir()}
    assert {"train_config.json", "metrics.jsonl", "model.safetensors", "checkpoints"} <= names
    assert (out / "checkpoints" / "latest").read_text().strip() == "step-00000018"
    folder = find_checkpoint(out)
    assert {p.name for p in folder.iterdir()} == {"model.safetensors", "train_state.pt"}
    state = torch.load(folder / "train_state.pt", weights_only=True)  # no pickle code allowed
    for key in ("optimizer", "scheduler", "step", "epoch", "best_metric", "bad_epochs", "rng",
                "loader_generator", "history"):
        assert key in state
    assert set(state["rng"][0]) == {"python", "numpy", "torch", "cuda"}
    kept = [p.name for p in (out / "checkpoints").iterdir() if p.name.startswith("step-")]
    assert kept == ["step-00000018"]


def test_pretrained_model_gets_config_json_and_from_pretrained_works(tmp_path):
    seed_everything(0)
    x = torch.randn(16, 3, 8)
    model = Encoder(d_model=8, nhead=2, num_layers=1, dim_feedforward=16, dropout=0.0)
    config = TrainConfig(epochs=1, batch_size=8, device="cpu", progress=False, verbose=False)
    Trainer(model, config, loss_fn=lambda m, b: m(b).pow(2).mean(), train_data=x,
            out_dir=tmp_path / "run").fit()
    assert (find_checkpoint(tmp_path / "run") / "config.json").is_file()
    again = Encoder.from_pretrained(tmp_path / "run")
    torch.testing.assert_close(again(x), model(x))


# ---------------------------------------------------------------------------- resume
def test_resume_after_an_exception_equals_the_uninterrupted_run(helpers, uninterrupted, tmp_path):
    full_out, full_trainer, _ = uninterrupted
    out = tmp_path / "run"

    # 12 micro-batches = 6 steps per epoch; call 27 is in epoch 3, after the step-12 checkpoint
    with pytest.raises(helpers["Crash"]):
        helpers["train"](out, crash_at_call=27)
    assert find_checkpoint(out).name == "step-00000012"
    trainer, result = helpers["train"](out, resume=out)
    assert result.steps == 18
    _assert_same_run(_final_state(trainer, out), _final_state(full_trainer, full_out))
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["event"] for r in records] == ["epoch"] * 3 + ["final"]


def test_resume_into_another_directory(helpers, uninterrupted, tmp_path):
    full_out, full_trainer, _ = uninterrupted
    first, second = tmp_path / "first", tmp_path / "second"
    with pytest.raises(helpers["Crash"]):
        helpers["train"](first, crash_at_call=34)  # epoch 3, after the step-16 checkpoint
    assert find_checkpoint(first).name == "step-00000016"
    trainer, result = helpers["train"](second, resume=first)
    assert result.steps == 18 and result.run_dir == second
    _assert_same_run(_final_state(trainer, second), _final_state(full_trainer, full_out))
    assert (second / "model.safetensors").is_file() and (second / "metrics.jsonl").is_file()


def test_resume_after_sigkill_mid_epoch_equals_the_uninterrupted_run(script, helpers, uninterrupted,
                                                                    tmp_path):
    full_out, full_trainer, _ = uninterrupted
    out, marker = tmp_path / "run", tmp_path / "stalled"
    # call 23 = epoch 2, micro-batch 11; the last checkpoint is step 8 (mid-epoch 2, save_every=4)
    proc = subprocess.Popen([sys.executable, str(script), str(out), "23", str(marker)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            if proc.poll() is not None:
                pytest.fail(f"training script exited early: {proc.stdout.read().decode()}")
            if time.monotonic() > deadline:
                pytest.fail("training script did not reach the stall point")
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    folder = find_checkpoint(out)
    assert folder.name == "step-00000008"
    state = load_train_state(folder / "train_state.pt")
    assert (state["epoch"], state["batches_done"]) == (1, 4)  # 4 of epoch 2's 12 batches seen
    trainer, result = helpers["train"](out, resume=out)
    assert result.steps == 18 and result.stop_reason == "completed"
    _assert_same_run(_final_state(trainer, out), _final_state(full_trainer, full_out))


def test_resume_of_a_finished_run_returns_at_once(helpers, uninterrupted):
    out, full_trainer, full_result = uninterrupted
    before = (out / "metrics.jsonl").read_text()
    trainer, result = helpers["train"](out, resume=out)
    assert result.steps == 18 and result.history == full_result.history
    assert torch.equal(torch.cat([p.flatten() for p in trainer.model.parameters()]),
                       torch.cat([p.detach().flatten() for p in full_trainer.model.parameters()]))
    assert (out / "metrics.jsonl").read_text().count('"final"') == before.count('"final"')


def test_resume_with_other_settings_is_refused(helpers, uninterrupted):
    out, _, _ = uninterrupted
    net = helpers["Net"]()
    config = TrainConfig(**{**helpers["CONFIG"], "batch_size": 16})
    trainer = Trainer(net, config, loss_fn=lambda m, b: m(b[0]).mean(), train_data=helpers["data"](96, 1))
    with pytest.raises(CheckpointError, match=r"train_state.pt: resume needs the same batch_size "
                                              r"as the interrupted run \(checkpoint 8, now 16\)"):
        trainer.fit(resume=out)


def test_a_new_run_refuses_to_overwrite_an_existing_one(helpers, uninterrupted):
    out, _, _ = uninterrupted
    with pytest.raises(ValueError, match="already holds files"):
        helpers["train"](out)


# ---------------------------------------------------------------------------- atomic writes
def test_atomic_write_text_crash_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "config.json"
    atomic_write_text(target, "old")

    def crash(fd):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "fsync", crash)  # after the new text is half way to disk
    with pytest.raises(OSError, match="simulated"):
        atomic_write_text(target, "new" * 1000)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]


def _tiny_checkpoint(run: Path, step: int = 1, scale: float = 1.0) -> nn.Module:
    model = nn.Linear(3, 2)
    with torch.no_grad():
        model.weight.fill_(scale)
    save_checkpoint(run, model, {"format": checkpoint_module.STATE_FORMAT, "step": step, "note": scale})
    return model


def test_checkpoint_crash_mid_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    run = tmp_path / "run"
    _tiny_checkpoint(run, step=1, scale=1.0)

    def crashing_save(obj, handle):
        handle.write(b"PK\x03\x04 partial")
        raise OSError("killed mid-write (simulated)")

    monkeypatch.setattr(checkpoint_module.torch, "save", crashing_save)
    with pytest.raises(OSError, match="simulated"):
        _tiny_checkpoint(run, step=2, scale=2.0)
    monkeypatch.undo()
    model = nn.Linear(3, 2)
    state = load_checkpoint(run, model)
    assert state["step"] == 1 and torch.all(model.weight == 1.0)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["latest", "step-00000001"]


def test_leftovers_of_a_killed_write_are_ignored_and_cleaned(tmp_path):
    run = tmp_path / "run"
    _tiny_checkpoint(run, step=1)
    stale = run / "checkpoints" / ".step-00000002.abc.tmp"
    stale.mkdir()
    (stale / "train_state.pt").write_bytes(b"half")
    assert find_checkpoint(run).name == "step-00000001"
    _tiny_checkpoint(run, step=2, scale=2.0)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["latest", "step-00000002"]


# ---------------------------------------------------------------------------- errors
def _assert_one_line(err: pytest.ExceptionInfo, *fragments: str):
    message = str(err.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize("content, problem", [
    (b"", "file is empty"),
    (b"\x00garbage\xff" * 10, "truncated or corrupt"),
    ("truncate", "truncated or corrupt"),
])
def test_corrupt_train_state_gives_one_line(tmp_path, content, problem):
    run = tmp_path / "run"
    _tiny_checkpoint(run)
    path = find_checkpoint(run) / "train_state.pt"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2] if content == "truncate" else content)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(run, nn.Linear(3, 2))
    _assert_one_line(err, str(path), problem)


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_pickled_code_is_refused(tmp_path):
    run = tmp_path / "run"
    _tiny_checkpoint(run)
    path = find_checkpoint(run) / "train_state.pt"
    torch.save({"format": checkpoint_module.STATE_FORMAT, "payload": _Evil()}, path)
    with pytest.raises(CheckpointError) as err:
        load_train_state(path)
    _assert_one_line(err, str(path), "refused to load", "weights_only=True")


def test_a_file_that_is_not_a_training_state(tmp_path):
    path = tmp_path / "train_state.pt"
    torch.save({"weights": torch.ones(2)}, path)
    with pytest.raises(CheckpointError) as err:
        load_train_state(path)
    _assert_one_line(err, str(path), "not a minitransformer training state")


def test_corrupt_weights_give_one_line(tmp_path):
    run = tmp_path / "run"
    _tiny_checkpoint(run)
    weights = find_checkpoint(run) / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:20])
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(run, nn.Linear(3, 2))
    _assert_one_line(err, str(weights), "not a readable safetensors file")


def test_checkpoint_of_another_shape_gives_one_line(tmp_path):
    run = tmp_path / "run"
    _tiny_checkpoint(run)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(run, nn.Linear(3, 5))
    _assert_one_line(err, "model.safetensors", "shape mismatch for")


def test_checkpoint_of_another_model_configuration_gives_one_line(tmp_path):
    x = torch.randn(8, 3, 8)
    model = Encoder(d_model=8, nhead=2, num_layers=1, dim_feedforward=16, dropout=0.0)
    config = TrainConfig(epochs=1, batch_size=8, device="cpu", progress=False, verbose=False)
    Trainer(model, config, loss_fn=lambda m, b: m(b).pow(2).mean(), train_data=x,
            out_dir=tmp_path / "run").fit()
    other = Encoder(d_model=16, nhead=2, num_layers=1, dim_feedforward=16, dropout=0.0)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(tmp_path / "run", other)
    _assert_one_line(err, "config.json", "another model configuration", "d_model: 8 in the checkpoint, 16")
    trainer = Trainer(other, config, loss_fn=lambda m, b: m(b).pow(2).mean(),
                      train_data=torch.randn(8, 3, 16))
    with pytest.raises(CheckpointError, match="another model configuration"):
        trainer.fit(resume=tmp_path / "run")


def test_missing_checkpoints_give_one_line(tmp_path):
    with pytest.raises(CheckpointError) as err:
        find_checkpoint(tmp_path / "nope")
    _assert_one_line(err, "nope", "not found")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError) as err:
        find_checkpoint(tmp_path / "empty")
    _assert_one_line(err, "no checkpoint found")
    run = tmp_path / "run"
    _tiny_checkpoint(run)
    (run / "checkpoints" / "latest").write_text("step-00000099\n")
    with pytest.raises(CheckpointError) as err:
        find_checkpoint(run)
    _assert_one_line(err, "latest", "step-00000099, which does not exist")
    (run / "checkpoints" / "latest").write_text("../../etc\n")
    with pytest.raises(CheckpointError) as err:
        find_checkpoint(run)
    _assert_one_line(err, "does not name a checkpoint folder")


def test_resume_from_a_corrupt_run_is_a_checkpoint_error(tmp_path):
    data = TensorDataset(torch.randn(16, 6), torch.randn(16))
    config = TrainConfig(epochs=1, batch_size=8, device="cpu", progress=False, verbose=False)

    def loss(model, batch):
        return nn.functional.mse_loss(model(batch[0]).squeeze(-1), batch[1])

    Trainer(nn.Linear(6, 1), config, loss_fn=loss, train_data=data, out_dir=tmp_path / "run").fit()
    (find_checkpoint(tmp_path / "run") / "train_state.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="train_state.pt: file is empty"):
        Trainer(nn.Linear(6, 1), config, loss_fn=loss, train_data=data).fit(resume=tmp_path / "run")
