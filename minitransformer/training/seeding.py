"""Reproducibility: seed every random number generator, and save/restore their states.

Three generators matter in a PyTorch training run:

* Python's :mod:`random` (data augmentation written in plain Python),
* NumPy's global generator (``np.random.*`` in data preparation),
* PyTorch's generators (weight initialisation, dropout, ``torch.randperm``), one on the CPU
  and one per CUDA device.

:func:`seed_everything` seeds all of them. :func:`get_rng_state` captures their current states
as plain Python values and tensors, which ``torch.load(..., weights_only=True)`` accepts, so a
resumed run continues with exactly the random numbers an uninterrupted run would have drawn;
:func:`set_rng_state` puts them back.

Same seed, same device, same thread count, same library versions: same numbers. Across
different hardware (CPU vs GPU, or two GPU models) results differ in the last bits.
"""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import torch

__all__ = ["seed_everything", "get_rng_state", "set_rng_state"]


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed :mod:`random`, NumPy and PyTorch (CPU and every CUDA device).

    Args:
        seed: any non-negative integer.
        deterministic: also ask PyTorch for deterministic kernels
            (``torch.use_deterministic_algorithms(True, warn_only=True)``, cuDNN
            deterministic, no cuDNN autotuning). Slower on GPU; CPU training is already
            deterministic for a fixed thread count.

    Examples:
        >>> seed_everything(0)
        >>> a = torch.rand(2)
        >>> seed_everything(0)
        >>> bool(torch.equal(a, torch.rand(2)))
        True
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    os.environ["PYTHONHASHSEED"] = str(seed)  # for subprocesses (e.g. DataLoader workers)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def get_rng_state() -> dict[str, Any]:
    """The states of Python's, NumPy's and PyTorch's generators, as tensors and plain values.

    Returns:
        ``{"python": {...}, "numpy": {...}, "torch": ByteTensor, "cuda": [ByteTensor, ...]}``;
        safe to store in a file read with ``torch.load(..., weights_only=True)``.
    """
    version, internal, gauss_next = random.getstate()
    name, key, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": {"version": version, "state": torch.tensor(internal, dtype=torch.int64),
                   "gauss_next": gauss_next},
        "numpy": {"name": str(name), "key": torch.from_numpy(key.astype(np.int64)),
                  "pos": int(pos), "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the generators from :func:`get_rng_state`'s result.

    Raises:
        ValueError: ``state`` is not in the format :func:`get_rng_state` writes.
    """
    try:
        py, npy = state["python"], state["numpy"]
        random.setstate((int(py["version"]), tuple(int(v) for v in py["state"].tolist()),
                         py["gauss_next"]))
        np.random.set_state((npy["name"], npy["key"].numpy().astype(np.uint32), int(npy["pos"]),
                             int(npy["has_gauss"]), float(npy["cached_gaussian"])))
        torch.set_rng_state(state["torch"])
        cuda = state.get("cuda") or []
        if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
    except (KeyError, TypeError, AttributeError, RuntimeError, ValueError) as err:
        raise ValueError(f"random-number-generator state is malformed ({err})") from None
