"""Rotary position embeddings (RoPE; Su et al., 2021, "RoFormer").

Instead of adding a vector to the input, RoPE *rotates* each query and key. Split a head's
``Dh`` features into ``Dh/2`` pairs ``(x_{2i}, x_{2i+1})`` and rotate pair i of the vector at
position ``p`` by the angle ``p·θ_i`` with ``θ_i = base^(-2i/Dh)``:

    x'_{2i}   = x_{2i} cos(pθ_i) − x_{2i+1} sin(pθ_i)
    x'_{2i+1} = x_{2i} sin(pθ_i) + x_{2i+1} cos(pθ_i)

A rotation by pθ of the query and by p'θ of the key leaves their dot product depending only on
``p − p'``: attention scores see *relative* positions. Used through
``MultiHeadAttention(..., rotary=True)``.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["RotaryEmbedding", "apply_rotary"]


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate feature pairs of ``x`` ``(B, H, T, Dh)`` by angles given as ``cos``/``sin`` ``(T, Dh/2)``."""
    # BEGIN EXERCISE 3.2
    pairs = x.unflatten(-1, (-1, 2))  # (B, H, T, Dh/2, 2)
    even, odd = pairs[..., 0], pairs[..., 1]  # (B, H, T, Dh/2) each
    rotated = torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1)
    return rotated.flatten(-2)  # (B, H, T, Dh)
    # END EXERCISE


class RotaryEmbedding(nn.Module):
    """Applies RoPE to queries or keys ``(B, H, T, Dh)`` whose first position is ``offset``."""

    def __init__(self, head_dim: int, base: float = 10000.0):
        super().__init__()
        if head_dim % 2:
            raise ValueError(f"head_dim: rotary embeddings need an even head size, got {head_dim}")
        inv_freq = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
        self.register_buffer("inv_freq", inv_freq, persistent=False)  # (Dh/2,)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        positions = torch.arange(offset, offset + x.size(-2), device=x.device, dtype=torch.float32)
        angles = torch.outer(positions, self.inv_freq)  # (T, Dh/2)
        return apply_rotary(x, angles.cos().to(x.dtype), angles.sin().to(x.dtype))
