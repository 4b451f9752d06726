"""Input checks that fail early with a message a learner can act on.

Every check names the argument, what was expected and what arrived, e.g.

    ValueError: query: expected shape (B, T, 64), got (2, 5, 32)

Checks are cheap (they read shapes and dtypes, never values) except :func:`check_token_ids`,
which looks at the min/max of the ids once per forward call.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = [
    "check_rank",
    "check_last_dim",
    "check_same_batch",
    "check_float",
    "check_token_ids",
    "check_mask",
    "check_attention_inputs",
    "shape_str",
]


def shape_str(shape: Sequence[int | str]) -> str:
    """``(2, 5, 64)`` for a shape, ``(3,)`` for one dimension; names such as ``"B"`` stay as written."""
    items = [str(s) for s in shape]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def check_rank(name: str, x: torch.Tensor, ndim: int, expected: str) -> None:
    """Raise if ``x`` is not a tensor of rank ``ndim``; ``expected`` is e.g. ``"(B, T, D)"``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor of shape {expected}, got {type(x).__name__}")
    if x.dim() != ndim:
        raise ValueError(
            f"{name}: expected a {ndim}-d tensor of shape {expected}, got {x.dim()}-d shape "
            f"{shape_str(x.shape)}"
        )


def check_float(name: str, x: torch.Tensor) -> None:
    """Raise ``TypeError`` unless ``x`` holds floating-point numbers."""
    if not x.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor, got dtype {x.dtype}")


def check_last_dim(name: str, x: torch.Tensor, size: int, what: str = "d_model") -> None:
    """Raise unless ``x.shape[-1] == size``."""
    if x.size(-1) != size:
        expected = shape_str([*["…"] * (x.dim() - 1), size])
        raise ValueError(
            f"{name}: expected last dimension {what}={size}, i.e. shape {expected}, "
            f"got {shape_str(x.shape)}"
        )


def check_same_batch(**tensors: torch.Tensor) -> None:
    """Raise unless every given (batch-first) tensor has the same size along dim 0."""
    sizes = {name: t.size(0) for name, t in tensors.items() if t is not None}
    if len(set(sizes.values())) > 1:
        listed = ", ".join(f"{name} has batch {size}" for name, size in sizes.items())
        raise ValueError(f"mismatched batch sizes: {listed}")


def check_token_ids(name: str, ids: torch.Tensor, vocab_size: int) -> None:
    """Raise unless ``ids`` is an integer ``(B, T)`` tensor with values in ``[0, vocab_size)``."""
    check_rank(name, ids, 2, "(B, T)")
    if ids.is_floating_point() or ids.dtype == torch.bool or ids.is_complex():
        raise TypeError(f"{name}: expected integer token ids (torch.long), got dtype {ids.dtype}")
    if ids.numel() == 0:
        return
    low, high = int(ids.min()), int(ids.max())
    if low < 0 or high >= vocab_size:
        bad = low if low < 0 else high
        raise ValueError(
            f"{name}: token id {bad} is out of the vocabulary; expected ids in [0, {vocab_size})"
        )


def check_mask(name: str, mask: torch.Tensor | None, shape: Sequence[int], meaning: str) -> None:
    """Raise unless ``mask`` broadcasts to ``shape``; ``meaning`` documents its convention."""
    if mask is None:
        return
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"{name}: expected a tensor ({meaning}), got {type(mask).__name__}")
    if not (mask.dtype == torch.bool or mask.is_floating_point()):
        raise TypeError(f"{name}: expected a bool or float mask ({meaning}), got dtype {mask.dtype}")
    try:
        torch.broadcast_shapes(tuple(mask.shape), tuple(shape))
        ok = mask.dim() <= len(shape)
    except RuntimeError:
        ok = False
    if not ok:
        raise ValueError(
            f"{name}: expected a mask broadcastable to {shape_str(shape)} ({meaning}), "
            f"got {shape_str(mask.shape)}"
        )


def check_attention_inputs(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, attn_mask: torch.Tensor | None
) -> None:
    """Shape checks for :func:`minitransformer.scaled_dot_product_attention`."""
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
        if t.dim() < 2:
            raise ValueError(f"{name}: expected shape (..., T, D), got {shape_str(t.shape)}")
        check_float(name, t)
    if k.size(-1) != q.size(-1):
        raise ValueError(
            f"k: expected last dimension D={q.size(-1)} to match q {shape_str(q.shape)}, "
            f"got {shape_str(k.shape)}"
        )
    if v.size(-2) != k.size(-2):
        raise ValueError(
            f"v: expected T_k={k.size(-2)} rows to match k {shape_str(k.shape)}, "
            f"got {shape_str(v.shape)}"
        )
    scores_shape = (*torch.broadcast_shapes(q.shape[:-2], k.shape[:-2]), q.size(-2), k.size(-2))
    check_mask("attn_mask", attn_mask, scores_shape, "True = may attend, or additive floats")
