"""The position-wise feed-forward block: the same two-layer MLP applied at every position.

    FFN(x) = W₂ · dropout(act(W₁ x + b₁)) + b₂        act = ReLU or GELU

Shapes: ``(B, T, D) -> (B, T, F) -> (B, T, D)`` with F = ``dim_feedforward`` (typically 4·D).
Attention mixes information *across* positions; this block transforms each position on its own.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["FeedForward", "ACTIVATIONS"]

ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


class FeedForward(nn.Module):
    """Args: d_model (D), dim_feedforward (F), dropout (inside, after the activation),
    activation ("relu" or "gelu"), bias."""

    def __init__(
        self,
        d_model: int,
        dim_feedforward: int,
        dropout: float = 0.0,
        activation: str = "relu",
        bias: bool = True,
    ):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation: expected one of {sorted(ACTIVATIONS)}, got {activation!r}")
        self.activation_name = activation
        self.activation = ACTIVATIONS[activation]
        self.linear1 = nn.Linear(d_model, dim_feedforward, bias=bias)  # W₁, b₁
        self.linear2 = nn.Linear(dim_feedforward, d_model, bias=bias)  # W₂, b₂
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # BEGIN EXERCISE 4.3
        hidden = self.activation(self.linear1(x))  # (B, T, F)
        return self.linear2(self.dropout(hidden))  # (B, T, D)
        # END EXERCISE
