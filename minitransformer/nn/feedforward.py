"""The position-wise feed-forward block: the same two-layer MLP applied at every position.

    FFN(x) = W₂ · dropout(act(W₁ x + b₁)) + b₂        act = ReLU or GELU

Shapes: ``(B, T, D) -> (B, T, F) -> (B, T, D)`` with F = ``dim_feedforward`` (typically 4·D).
Attention mixes information *across* positions; this block transforms each position on its own.

The activations (``activation=`` of every layer and config):

    "relu"       ReLU(x) = max(0, x)
    "gelu"       GELU(x) = x · Φ(x) = ½ x (1 + erf(x / √2))         Φ: the standard normal CDF
    "gelu_tanh"  ½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))            GELU's tanh approximation

GELU weighs its input by how likely a standard normal variable is to be smaller (Hendrycks &
Gimpel, 2016); BERT uses the exact ``erf`` form. GPT-2 was trained with the tanh approximation,
which differs from the exact form by up to 4.7·10⁻⁴ (near x ≈ ±2.7): small, but more than the
1e-4 by which we check a loaded GPT-2 against the published implementation, so a checkpoint must
run with the activation it was trained with.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["FeedForward", "ACTIVATIONS", "gelu_tanh"]



def gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    """½ x (1 + tanh(√(2/π) (x + 0.044715 x³))), GPT-2's GELU; any shape, elementwise."""
    return F.gelu(x, approximate="tanh")  # PyTorch's kernel for exactly this formula (one pass)


ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu, "gelu_tanh": gelu_tanh}


class FeedForward(nn.Module):
    """Args: d_model (D), dim_feedforward (F), dropout (inside, after the activation),
    activation ("relu", "gelu" or "gelu_tanh"), bias."""

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
