"""Residual connections around a sub-layer, with layer norm before (pre-norm) or after (post-norm).

    post-norm (the 2017 paper, ``norm_first=False``):  y = LayerNorm(x + dropout(sublayer(x)))
    pre-norm  (GPT-2 and most modern models, ``norm_first=True``): y = x + dropout(sublayer(LayerNorm(x)))

Pre-norm keeps an un-normalised "residual stream" from input to output, which trains more stably
in deep stacks (Xiong et al., 2020) but needs a final layer norm after the last layer.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from minitransformer.nn.norm import LayerNorm

__all__ = ["ResidualConnection"]


class ResidualConnection(nn.Module):
    """Wraps any ``sublayer: (B, T, D) -> (B, T, D)`` with a residual path and a layer norm."""

    def __init__(self, d_model: int, dropout: float = 0.0, norm_first: bool = False,
                 eps: float = 1e-5, bias: bool = True, fused_norm: bool = False):
        super().__init__()
        self.norm_first = norm_first
        self.norm = LayerNorm(d_model, eps=eps, bias=bias, fused=fused_norm)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, sublayer: Callable[[torch.Tensor], torch.Tensor]):
        # BEGIN EXERCISE 4.4
        if self.norm_first:
            return x + self.dropout(sublayer(self.norm(x)))
        return self.norm(x + self.dropout(sublayer(x)))
        # END EXERCISE
