"""Positional information: attention itself is blind to order, so we add it to the inputs.

* :class:`SinusoidalPositionalEncoding` (Vaswani et al., 2017), fixed, no parameters:

      PE(pos, 2i)   = sin(pos / 10000^(2i / D))
      PE(pos, 2i+1) = cos(pos / 10000^(2i / D))

* :class:`LearnedPositionalEmbedding` (BERT, GPT-2, SASRec): one trained vector per position.

Both take ``x`` of shape ``(B, T, D)`` and return ``x + P[offset : offset + T]``. ``offset`` is
the number of positions already seen, used when decoding one token at a time with a KV cache.
Rotary embeddings (RoPE), which act on queries and keys instead, live in
:mod:`minitransformer.nn.rotary`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from minitransformer.nn.validation import check_last_dim, check_rank

__all__ = ["SinusoidalPositionalEncoding", "LearnedPositionalEmbedding", "sinusoidal_table"]


def sinusoidal_table(max_len: int, d_model: int) -> torch.Tensor:
    """The fixed table ``(max_len, d_model)`` of the equations above."""
    # BEGIN EXERCISE 3.1
    position = torch.arange(max_len, dtype=torch.float64).unsqueeze(1)  # (T, 1)
    inv_freq = torch.exp(
        -math.log(10000.0) * torch.arange(0, d_model, 2, dtype=torch.float64) / d_model
    )  # (ceil(D/2),)
    angles = position * inv_freq  # (T, ceil(D/2))
    table = torch.zeros(max_len, d_model, dtype=torch.float64)
    table[:, 0::2] = torch.sin(angles)
    table[:, 1::2] = torch.cos(angles[:, : d_model // 2])
    return table.float()
    # END EXERCISE


def _check_positions(x: torch.Tensor, offset: int, max_len: int, d_model: int) -> None:
    check_rank("x", x, 3, f"(B, T, {d_model})")
    check_last_dim("x", x, d_model)
    if offset + x.size(1) > max_len:
        raise ValueError(
            f"x: sequence of length {x.size(1)} at offset {offset} exceeds max_len={max_len}; "
            "truncate the input or build the model with a larger max_len"
        )


class SinusoidalPositionalEncoding(nn.Module):
    """Adds the fixed sinusoidal table; ``dropout`` is applied to the sum, as in the paper."""

    def __init__(self, d_model: int, max_len: int = 5000, dropout: float = 0.0):
        super().__init__()
        self.d_model, self.max_len = d_model, max_len
        self.dropout = nn.Dropout(dropout)
        # A buffer: moves with .to(device) but is not a parameter and is not saved.
        self.register_buffer("table", sinusoidal_table(max_len, d_model), persistent=False)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """``(B, T, D) -> (B, T, D)``."""
        _check_positions(x, offset, self.max_len, self.d_model)
        return self.dropout(x + self.table[offset : offset + x.size(1)].to(x.dtype))


class LearnedPositionalEmbedding(nn.Module):
    """Adds a trained vector per position (``max_len`` of them)."""

    def __init__(self, max_len: int, d_model: int, dropout: float = 0.0):
        super().__init__()
        self.d_model, self.max_len = d_model, max_len
        self.embedding = nn.Embedding(max_len, d_model)
        nn.init.normal_(self.embedding.weight, std=0.02)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """``(B, T, D) -> (B, T, D)``."""
        _check_positions(x, offset, self.max_len, self.d_model)
        positions = torch.arange(offset, offset + x.size(1), device=x.device)  # (T,)
        return self.dropout(x + self.embedding(positions))
