"""Data-parallel training over several processes (``torchrun``), on one machine or many.

How it works: every process (a *rank*) holds a full copy of the model and reads a different
shard of each epoch's shuffled data; after ``backward()`` DistributedDataParallel averages the
gradients over the ranks, so every copy takes the same optimizer step. With ``N`` ranks and a
per-process ``batch_size`` of ``b``, one step sees a global batch of ``N * b`` examples and
equals one single-process step with batch ``N * b`` (up to float rounding).

The :class:`~minitransformer.training.Trainer` does all of this by itself when it finds the
environment ``torchrun`` sets (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``,
``MASTER_PORT``): the script does not change.

One machine, 4 processes (gloo on CPU, NCCL when CUDA is available)::

    torchrun --standalone --nproc_per_node 4 train.py --epochs 10

Two machines with 8 GPUs each; run this on both, with ``--node_rank 0`` on the first machine
(whose address and a free port every node must reach) and ``--node_rank 1`` on the second::

    torchrun --nnodes 2 --node_rank 0 --nproc_per_node 8 \\
             --master_addr 10.0.0.1 --master_port 29500 train.py --epochs 10

or with elastic rendezvous, the same command on every node::

    torchrun --nnodes 2 --nproc_per_node 8 --rdzv_backend c10d \\
             --rdzv_endpoint 10.0.0.1:29500 --rdzv_id myrun train.py

Rules the trainer follows: only rank 0 writes checkpoints, ``metrics.jsonl`` and progress
output; every rank reads the checkpoint on resume, so on several machines ``out_dir`` must be
on a shared file system; every rank evaluates the full validation set (same weights, same
numbers), so early stopping agrees everywhere. Set ``GLOO_SOCKET_IFNAME`` / ``NCCL_SOCKET_IFNAME``
when the machines have several network interfaces.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["DistInfo", "init_distributed", "dist_info", "is_main_process", "barrier",
           "all_reduce_sum", "gather_objects", "unwrap_model"]


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands: ``rank`` of ``world_size``; ``local_rank`` on its machine."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        """True when more than one process trains together."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on rank 0, the process that writes files and prints."""
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        raise ValueError(f"environment variable {name}: expected an integer, got {value!r}") from None


def dist_info() -> DistInfo:
    """The rank and world size of an initialised process group (or of a single process)."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(),
                        _env_int("LOCAL_RANK", dist.get_rank()))
    return DistInfo()


def init_distributed(backend: str | None = None) -> DistInfo:
    """Join the process group ``torchrun`` describes in the environment, if there is one.

    Does nothing for a plain ``python train.py`` (``WORLD_SIZE`` unset or 1) and reuses a
    group that is already initialised.

    Args:
        backend: ``"gloo"`` or ``"nccl"``; default NCCL when CUDA is available, else gloo.
    """
    if dist.is_available() and dist.is_initialized():
        return dist_info()
    world_size = _env_int("WORLD_SIZE", 1)
    if world_size <= 1:
        return DistInfo()
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but this PyTorch build has no torch.distributed")
    local_rank = _env_int("LOCAL_RANK", 0)
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend=backend)
    return dist_info()


def is_main_process() -> bool:
    """True unless this is a rank other than 0 of an initialised process group."""
    return dist_info().is_main


def barrier() -> None:
    """Wait for every rank (no-op in a single process)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def all_reduce_sum(values: torch.Tensor) -> torch.Tensor:
    """Sum ``values`` over the ranks, in place, and return it (unchanged in a single process)."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def gather_objects(obj) -> list:
    """Every rank's picklable ``obj``, as a list indexed by rank (``[obj]`` in a single process).

    A collective: every rank must call it. Uses ``all_gather_object`` (works with gloo and NCCL).
    """
    if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
        return [obj]
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def unwrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """The module inside a ``DistributedDataParallel``/``DataParallel`` wrapper (or ``model``)."""
    return getattr(model, "module", model) if isinstance(
        model, torch.nn.parallel.DistributedDataParallel | torch.nn.DataParallel) else model
