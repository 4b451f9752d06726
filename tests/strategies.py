"""Hypothesis strategies for the core tests, in one place.

Shapes stay small (batch ≤ 3, length ≤ 8, d_model ≤ 32) so that a property runs its examples in
milliseconds. Masks follow the package conventions:

* attention masks: bool, **True = may attend**;
* padding masks ``(B, T)``: bool, **True = padding**, built from lengths (real tokens first).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

MAX_BATCH = 3
MAX_LEN = 8
MAX_HEADS = 4

seeds = st.integers(min_value=0, max_value=2**16)
batch_sizes = st.integers(min_value=1, max_value=MAX_BATCH)
lengths = st.integers(min_value=1, max_value=MAX_LEN)


@dataclass(frozen=True)
class ModelDims:
    """``d_model = nhead * head_dim``; ``head_dim`` is even so RoPE can be switched on."""

    batch: int
    length: int
    nhead: int
    head_dim: int

    @property
    def d_model(self) -> int:
        return self.nhead * self.head_dim


@st.composite
def model_dims(draw, max_len: int = MAX_LEN, min_len: int = 1) -> ModelDims:
    """Batch, sequence length, heads and a head size with d_model divisible by nhead (≤ 32)."""
    nhead = draw(st.integers(1, MAX_HEADS))
    head_dim = draw(st.sampled_from([2, 4, 8]))
    return ModelDims(draw(batch_sizes), draw(st.integers(min_len, max_len)), nhead, head_dim)


@dataclass(frozen=True)
class AttentionShape:
    """Shapes for :func:`scaled_dot_product_attention`: q ``(B, H, T_q, D)``, v ``(B, H, T_k, D_v)``."""

    batch: int
    heads: int
    t_q: int
    t_k: int
    d: int
    d_v: int


@st.composite
def attention_shapes(draw) -> AttentionShape:
    """Independent query/key lengths and query/value widths."""
    return AttentionShape(
        batch=draw(batch_sizes), heads=draw(st.integers(1, MAX_HEADS)),
        t_q=draw(lengths), t_k=draw(lengths),
        d=draw(st.integers(1, 8)), d_v=draw(st.integers(1, 8)),
    )


def _ensure_a_key_per_row(mask: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Switch on key ``keys[row]`` in every query row that has no allowed key."""
    empty = ~mask.any(axis=-1)
    rows = np.nonzero(empty)
    mask = mask.copy()
    mask[(*rows, keys[rows])] = True
    return mask


@st.composite
def bool_masks(draw, shape: tuple[int, ...], allow_empty_rows: bool = False) -> torch.Tensor:
    """A boolean attention mask (True = may attend) of ``shape``, last dim = keys.

    With ``allow_empty_rows=False`` every query row keeps at least one key, which is what
    PyTorch's own kernels need to give finite results; with ``True`` fully masked rows occur.
    """
    mask = draw(arrays(np.bool_, shape))
    if not allow_empty_rows:
        keys = draw(arrays(np.int64, shape[:-1], elements=st.integers(0, shape[-1] - 1)))
        mask = _ensure_a_key_per_row(mask, keys)
    return torch.from_numpy(mask)


@st.composite
def mask_shapes(draw, batch: int, heads: int, t_q: int, t_k: int) -> tuple[int, ...]:
    """A shape that broadcasts to ``(batch, heads, t_q, t_k)``: full, per batch, 2-d or key-only."""
    return draw(st.sampled_from([
        (batch, heads, t_q, t_k), (batch, 1, t_q, t_k), (t_q, t_k), (1, t_k), (batch, 1, 1, t_k),
    ]))


@st.composite
def sequence_lengths(draw, batch: int, max_len: int, min_len: int = 1) -> list[int]:
    """One length per batch row in ``[min_len, max_len]``; at least one row is full length."""
    sizes = draw(st.lists(st.integers(min_len, max_len), min_size=batch, max_size=batch))
    sizes[draw(st.integers(0, batch - 1))] = max_len
    return sizes


@st.composite
def padding_masks(draw, batch: int, length: int) -> torch.Tensor:
    """A key-padding mask ``(batch, length)``, True = padding, real tokens first, ≥ 1 per row."""
    sizes = draw(sequence_lengths(batch, length))
    return torch.arange(length)[None, :] >= torch.tensor(sizes)[:, None]


def finite_floats(bound: float = 10.0) -> st.SearchStrategy[float]:
    return st.floats(-bound, bound, allow_nan=False, allow_infinity=False)


@st.composite
def score_matrices(draw, max_rows: int = 6, max_cols: int = 8, bound: float = 30.0) -> torch.Tensor:
    """A float64 ``(rows, cols)`` matrix of finite scores."""
    shape = (draw(st.integers(1, max_rows)), draw(st.integers(1, max_cols)))
    return torch.from_numpy(draw(arrays(np.float64, shape, elements=finite_floats(bound))))
