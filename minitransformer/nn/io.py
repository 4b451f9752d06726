"""Saving and loading models: ``config.json`` + ``model.safetensors``, written atomically.

Why safetensors? A ``.pt`` file is a pickle, and unpickling runs whatever code the file names;
a safetensors file is only a JSON header and raw numbers, so loading a model you downloaded
cannot execute anything.

Atomic writes: a new directory is written under a temporary name and renamed into place, so a
crash leaves either the old model or the new one, never half of each. Into an existing directory
(a training run's folder) each file is written to a temporary file and ``os.replace``-d, which is
atomic per file.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

__all__ = ["PretrainedMixin", "atomic_write_text", "json_text", "save_json", "atomic_save_safetensors",
           "load_weights", "CONFIG_NAME", "WEIGHTS_NAME"]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


def _temporary_beside(path: Path) -> tuple[int, str]:
    """A new temporary file in ``path``'s folder, with the permissions ``open`` would give a new
    file (``0o666`` less the umask; ``mkstemp`` alone makes it private, ``0o600``)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.chmod(tmp, _open_mode())
    return fd, tmp


def _open_mode() -> int:
    """The permissions ``open`` gives a new file: ``0o666`` less the umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    fd, tmp = _temporary_beside(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def json_text(payload: Any, indent: int | None = 2) -> str:
    """``payload`` as JSON text ending in a newline: non-ASCII text stays readable (no ``\\u``
    escapes); values JSON does not know are written as numbers (NumPy scalars) or text (a Path).

    Examples:
        >>> print(json_text({"问题": 1.5}), end="")
        {
          "问题": 1.5
        }
    """
    return json.dumps(payload, indent=indent, ensure_ascii=False, default=_plain) + "\n"


def save_json(path: str | Path, payload: Any, indent: int | None = 2) -> Path:
    """Write :func:`json_text` of ``payload`` to ``path`` atomically (see :func:`atomic_write_text`),
    creating the folder. The one JSON writer of the package."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json_text(payload, indent))
    return path


def _plain(value: Any):
    """A value ``json`` cannot write, as one it can: NumPy scalars as numbers, the rest as text."""
    item = getattr(value, "item", None)
    return item() if callable(item) else str(value)


def _unique_tensors(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state dict without tied duplicates (safetensors refuses shared memory)."""
    tensors, seen = {}, set()
    for name, tensor in module.state_dict().items():
        key = (tensor.data_ptr(), tensor.shape, tensor.dtype)
        if tensor.numel() and key in seen:
            continue
        seen.add(key)
        tensors[name] = tensor.detach().contiguous().cpu()
    return tensors


def atomic_save_safetensors(module: torch.nn.Module, path: str | Path) -> None:
    """Save ``module``'s weights to ``path`` atomically."""
    path = Path(path)
    fd, tmp = _temporary_beside(path)
    os.close(fd)
    try:
        save_file(_unique_tensors(module), tmp, metadata={"format": "pt"})
        os.chmod(tmp, _open_mode())  # safetensors writes a new, private (0o600) file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_weights(module: torch.nn.Module, path: str | Path) -> None:
    """Load ``path`` into ``module``; every problem becomes a ``ValueError`` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: weights file not found")
    try:
        loaded = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise ValueError(f"{path}: not a readable safetensors file ({err})") from None
    expected = _unique_tensors(module)
    missing = sorted(set(expected) - set(loaded))
    unexpected = sorted(set(loaded) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"{path}: weights do not match the model configuration "
            f"(missing {missing[:5]}, unexpected {unexpected[:5]})"
        )
    for name, tensor in loaded.items():
        if tensor.shape != expected[name].shape:
            raise ValueError(
                f"{path}: shape mismatch for {name}: file has {tuple(tensor.shape)}, "
                f"the model configuration expects {tuple(expected[name].shape)}"
            )
    module.load_state_dict(loaded, strict=False)  # tied duplicates are filled by their twin


class PretrainedMixin:
    """``save_pretrained(dir)`` / ``from_pretrained(dir)`` for a module with a ``config``.

    The class sets ``config_class`` (a :mod:`minitransformer.nn.config` dataclass) and implements
    ``from_config(config)``.
    """

    config_class = None

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write ``config.json`` and ``model.safetensors`` into ``directory`` atomically."""
        directory = Path(directory)
        if directory.exists():
            atomic_save_safetensors(self, directory / WEIGHTS_NAME)
            save_json(directory / CONFIG_NAME, self.config.to_dict())
            return directory
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
        try:
            save_file(_unique_tensors(self), str(tmp / WEIGHTS_NAME), metadata={"format": "pt"})
            save_json(tmp / CONFIG_NAME, self.config.to_dict())
            os.rename(tmp, directory)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path, map_location: str | torch.device = "cpu"):
        """Rebuild the model from ``config.json`` and load ``model.safetensors`` (no pickle)."""
        directory = Path(directory)
        if not directory.is_dir():
            raise FileNotFoundError(f"{directory}: model directory not found")
        config = cls.config_class.from_json_file(directory / CONFIG_NAME)
        model = cls.from_config(config)
        load_weights(model, directory / WEIGHTS_NAME)
        return model.to(map_location)
