"""Where training runs: choosing a device and moving (nested) batches onto it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

__all__ = ["resolve_device", "move_to_device"]


def resolve_device(name: str = "auto", local_rank: int = 0, check: bool = True) -> torch.device:
    """``"auto"|"cpu"|"cuda"|"cuda:N"|"mps"`` -> a ``torch.device``.

    ``"auto"`` picks CUDA (device ``local_rank`` under torchrun), else Apple MPS, else the CPU.

    Raises:
        ValueError: an unknown name, or (with ``check``) a device this machine does not have.
    """
    if not isinstance(name, str) or name.split(":")[0] not in ("auto", "cpu", "cuda", "mps"):
        raise ValueError(f"device: expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {name!r}")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"device: not a valid device name: {name!r}") from None
    if check and device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: {name!r} requested but CUDA is not available")
    if check and device.type == "mps" and not (
            getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"device: {name!r} requested but MPS is not available")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank % max(1, torch.cuda.device_count()))
    return device


def move_to_device(batch: Any, device: torch.device | str) -> Any:
    """Move every tensor inside ``batch`` (nested dicts, lists, tuples, namedtuples) to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        items = [(k, move_to_device(v, device)) for k, v in batch.items()]
        try:
            return type(batch)(items)
        except TypeError:  # a mapping type that cannot be built from pairs
            return dict(items)
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # namedtuple
        return type(batch)(*(move_to_device(v, device) for v in batch))
    if isinstance(batch, list | tuple):
        return type(batch)(move_to_device(v, device) for v in batch)
    return batch
