"""Every file the package writes gets the permissions a plain ``open()`` would give it:
``0o666`` less the umask (weights, settings, logs and maps alike; a temporary file made with
``mkstemp`` would be private, ``0o600``, and stay so after ``os.replace``)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from minitransformer.cli.options import write_json
from minitransformer.nn.io import atomic_save_safetensors, atomic_write_text, save_json
from minitransformer.training import TrainConfig, Trainer

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")


@pytest.fixture(params=[0o022, 0o077, 0o002], ids=["umask-022", "umask-077", "umask-002"])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def plain_open_mode(folder: Path) -> int:
    """What ``open(..., "w")`` gives a new file under the current umask."""
    with open(folder / "plain.txt", "w") as handle:
        handle.write("x")
    return mode(folder / "plain.txt")


def test_the_writers_give_what_open_gives(tmp_path, umask):
    expected = plain_open_mode(tmp_path)
    assert expected == 0o666 & ~umask
    save_json(tmp_path / "settings.json", {"d_model": 16})
    atomic_write_text(tmp_path / "latest", "step-1\n")
    atomic_save_safetensors(nn.Linear(3, 2), tmp_path / "model.safetensors")
    write_json(tmp_path / "results.json", {"accuracy": 0.5})
    written = {p.name: oct(mode(p)) for p in tmp_path.iterdir()}
    assert written == dict.fromkeys(written, oct(expected))


def test_replacing_a_file_gives_the_same_mode(tmp_path, umask):
    """``os.replace`` keeps the temporary file's mode, not the old file's: still ``open()``'s."""
    expected = plain_open_mode(tmp_path)
    path = tmp_path / "settings.json"
    path.write_text("{}")
    path.chmod(0o600)
    save_json(path, {"d_model": 32})
    assert mode(path) == expected


def test_every_file_of_a_training_run(tmp_path, umask):
    """A Trainer run writes weights, config, checkpoints, the training state, ``latest`` and the
    metrics log: all with the same mode as a plain ``open()``, and its folders (a checkpoint's
    included, first written under a temporary name) with the mode of a plain ``mkdir()``."""
    expected = plain_open_mode(tmp_path)
    torch.manual_seed(0)
    x = torch.randn(32, 4)
    data = TensorDataset(x, x.sum(dim=1, keepdim=True))

    def loss_fn(model, batch):
        inputs, target = batch
        return nn.functional.mse_loss(model(inputs), target)

    def evaluate_fn(model, valid):
        inputs, target = valid.tensors
        return {"loss": nn.functional.mse_loss(model(inputs), target).item()}

    run = tmp_path / "run"
    config = TrainConfig(epochs=2, batch_size=8, lr=1e-2, monitor="loss", mode="min", device="cpu",
                         progress=False, verbose=False)
    Trainer(nn.Linear(4, 1), config, loss_fn=loss_fn, train_data=data, valid_data=data,
            evaluate_fn=evaluate_fn, out_dir=run).fit()
    files = [p for p in run.rglob("*") if p.is_file()]
    kinds = {p.suffix or p.name for p in files}
    assert {".safetensors", ".jsonl", ".json", "latest"} <= kinds, kinds
    assert {p.relative_to(run).as_posix(): oct(mode(p)) for p in files} == \
        {p.relative_to(run).as_posix(): oct(expected) for p in files}
    (tmp_path / "plain").mkdir()
    folders = [run, *(p for p in run.rglob("*") if p.is_dir())]
    assert {p.relative_to(run).as_posix(): oct(mode(p)) for p in folders} == \
        {p.relative_to(run).as_posix(): oct(mode(tmp_path / "plain")) for p in folders}  # like mkdir's
