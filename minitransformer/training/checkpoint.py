"""Checkpoints: what a run directory holds, how it is written safely, and how it is read back.

Layout of a run directory (``Trainer(out_dir=...)``)::

    runs/my-run/
    ├── train_config.json          TrainConfig (+ "task": the head's own settings)
    ├── metrics.jsonl              one JSON object per epoch, then {"event": "final", ...}
    ├── config.json                ┐ the BEST model so far (by the monitored validation
    ├── model.safetensors          ┘ metric): ``MyModel.from_pretrained("runs/my-run")``
    └── checkpoints/
        ├── latest                 text file naming the newest complete checkpoint
        └── step-00000120/         the latest training state, for ``fit(resume=...)``
            ├── config.json        model config (when the model has one)
            ├── model.safetensors  weights at step 120
            └── train_state.pt     optimizer, scheduler, step, epoch, position in the epoch,
                                   best metric, early-stopping counter, history, RNG states

``config.json`` is only written for models with a ``config`` (``PretrainedMixin`` models);
for a plain ``nn.Module`` the folder holds ``model.safetensors`` alone.

Safe writes: a checkpoint is assembled in a hidden temporary folder and renamed to
``step-N`` (one atomic rename), then ``latest`` is replaced atomically
(:func:`minitransformer.nn.io.atomic_write_text`), and only then are older checkpoints deleted.
A crash at any moment leaves ``latest`` naming a complete checkpoint: the old one or the new
one. The best-model files are each replaced atomically (``os.replace``).

Safe reads: ``train_state.pt`` is loaded with ``torch.load(..., weights_only=True)``, which
refuses to run code from the file (RNG states are stored as tensors and plain values for this
reason); weights come from safetensors. Every problem (missing, empty, truncated or corrupt
file, a checkpoint of another model configuration) raises :class:`CheckpointError`, a
``ValueError`` whose one-line message names the file and the problem.
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from minitransformer.errors import CheckpointError
from minitransformer.nn.io import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    atomic_save_safetensors,
    atomic_write_text,
    load_weights,
    save_json,
)

__all__ = ["save_checkpoint", "load_checkpoint", "find_checkpoint",
           "load_train_state", "save_model", "model_config_dict", "TRAIN_STATE_NAME",
           "TRAIN_CONFIG_NAME", "CHECKPOINTS_DIR", "LATEST_NAME", "STATE_FORMAT"]

TRAIN_STATE_NAME = "train_state.pt"
TRAIN_CONFIG_NAME = "train_config.json"
CHECKPOINTS_DIR = "checkpoints"
LATEST_NAME = "latest"
STATE_FORMAT = "minitransformer.train_state/1"
_STEP_DIR = re.compile(r"^step-\d{8}(-\d+)?$")


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _one_line(err: BaseException | str, limit: int = 200) -> str:
    text = _ANSI.sub("", str(err)).strip().splitlines()
    line = text[0].strip() if text else type(err).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


def model_config_dict(model: nn.Module) -> dict[str, Any] | None:
    """``model.config.to_dict()`` for models that have one, else ``None``."""
    config = getattr(model, "config", None)
    to_dict = getattr(config, "to_dict", None)
    return to_dict() if callable(to_dict) else None


def save_model(model: nn.Module, directory: str | Path) -> Path:
    """Write ``model.safetensors`` (and ``config.json`` when the model has a config) atomically.

    Uses the model's own ``save_pretrained`` when it has one, so the folder can be loaded with
    ``from_pretrained``.
    """
    directory = Path(directory)
    if callable(getattr(model, "save_pretrained", None)):
        return model.save_pretrained(directory)
    directory.mkdir(parents=True, exist_ok=True)
    atomic_save_safetensors(model, directory / WEIGHTS_NAME)
    return directory


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_checkpoint(run_dir: str | Path, model: nn.Module, state: dict[str, Any], keep: int = 1) -> Path:
    """Write a complete checkpoint under ``run_dir/checkpoints/`` and point ``latest`` at it.

    Args:
        run_dir: the run directory (created if needed).
        model: the (unwrapped) model whose weights to save.
        state: the training state (plain values and tensors only), saved as ``train_state.pt``;
            ``state["step"]`` names the folder.
        keep: how many checkpoints to keep (the newest ones; at least 1).

    Returns:
        The new checkpoint folder.
    """
    root = Path(run_dir) / CHECKPOINTS_DIR
    root.mkdir(parents=True, exist_ok=True)
    name = f"step-{int(state['step']):08d}"
    n = 1
    while (root / name).exists():
        n += 1
        name = f"step-{int(state['step']):08d}-{n}"
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{name}.", suffix=".tmp"))
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # what mkdir gives (mkdtemp's folder is private, 0o700)
        atomic_save_safetensors(model, tmp / WEIGHTS_NAME)
        config = model_config_dict(model)
        if config is not None:
            save_json(tmp / CONFIG_NAME, config)
        with open(tmp / TRAIN_STATE_NAME, "wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        _fsync_dir(tmp)
        os.rename(tmp, root / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    atomic_write_text(root / LATEST_NAME, name + "\n")
    _prune(root, keep=max(1, keep))
    return root / name


def _prune(root: Path, keep: int) -> None:
    """Delete all but the ``keep`` newest checkpoints, and leftovers of interrupted writes."""
    try:
        latest = (root / LATEST_NAME).read_text(encoding="utf-8").strip()
    except OSError:
        return
    complete = sorted((p for p in root.iterdir() if p.is_dir() and _STEP_DIR.match(p.name)),
                      key=lambda p: p.stat().st_mtime_ns)
    keep_names = {p.name for p in complete[-keep:]} | {latest}
    for path in root.iterdir():
        stale_tmp = path.name.startswith(".step-") and path.name.endswith(".tmp")
        old = path.is_dir() and _STEP_DIR.match(path.name) and path.name not in keep_names
        if stale_tmp or old:
            shutil.rmtree(path, ignore_errors=True)


def find_checkpoint(path: str | Path) -> Path:
    """The checkpoint folder for ``path``: a run directory, its ``checkpoints/`` folder, or a
    ``step-N`` folder itself.

    Raises:
        CheckpointError: there is no usable checkpoint there (the message says what is missing).
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: checkpoint directory not found")
    if not path.is_dir():
        raise CheckpointError(f"{path}: expected a run or checkpoint directory, got a file")
    if (path / TRAIN_STATE_NAME).exists():
        return path
    root = path if (path / LATEST_NAME).exists() else path / CHECKPOINTS_DIR
    pointer = root / LATEST_NAME
    if not pointer.is_file():
        raise CheckpointError(f"{path}: no checkpoint found (expected {pointer})")
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{pointer}: unreadable ({_one_line(err)})") from None
    if not _STEP_DIR.match(name):
        raise CheckpointError(f"{pointer}: does not name a checkpoint folder (content {name[:40]!r})")
    if not (root / name).is_dir():
        raise CheckpointError(f"{pointer}: names {name}, which does not exist")
    return root / name


def load_train_state(path: str | Path) -> dict[str, Any]:
    """Read a ``train_state.pt`` safely (``weights_only=True``).

    Raises:
        CheckpointError: missing, empty, truncated, corrupt, or not a training state.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: training-state file not found")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: file is empty")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if zipfile.is_zipfile(path):  # a complete file, but with pickled objects we refuse to run
            raise CheckpointError(
                f"{path}: refused to load, the file holds Python objects other than tensors and "
                f"plain values (weights_only=True); it was not written by this trainer") from None
        raise CheckpointError(f"{path}: not a readable training state, the file is truncated or "
                              f"corrupt ({type(err).__name__})") from None
    except Exception as err:  # zip, EOF, OS and RuntimeErrors all mean "unusable"
        raise CheckpointError(
            f"{path}: not a readable training state, the file is truncated or corrupt "
            f"({type(err).__name__}: {_one_line(err, limit=90)})") from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(f"{path}: not a minitransformer training state "
                              f"(format {found!r}, expected {STATE_FORMAT!r})")
    return state


def _config_difference(saved: dict[str, Any], current: dict[str, Any]) -> str:
    keys = sorted(set(saved) | set(current))
    diffs = [f"{k}: {saved.get(k)!r} in the checkpoint, {current.get(k)!r} in the model"
             for k in keys if saved.get(k) != current.get(k)]
    return "; ".join(diffs[:3]) + ("; ..." if len(diffs) > 3 else "")


def load_checkpoint(path: str | Path, model: nn.Module) -> dict[str, Any]:
    """Load a checkpoint's weights into ``model`` and return its training state.

    Args:
        path: anything :func:`find_checkpoint` accepts.
        model: the (unwrapped) model, built with the same configuration as the checkpoint's.

    Raises:
        CheckpointError: no checkpoint, unreadable files, or another model configuration.
    """
    folder = find_checkpoint(path)
    state = load_train_state(folder / TRAIN_STATE_NAME)
    current = model_config_dict(model)
    saved = state.get("model_config")
    if current is not None and saved is not None and saved != current:
        where = folder / CONFIG_NAME if (folder / CONFIG_NAME).exists() else folder / TRAIN_STATE_NAME
        raise CheckpointError(f"{where}: checkpoint is for another model configuration "
                              f"({_config_difference(saved, current)})")
    try:
        load_weights(model, folder / WEIGHTS_NAME)
    except (ValueError, OSError) as err:
        raise CheckpointError(_one_line(err, limit=400)) from None
    return state
