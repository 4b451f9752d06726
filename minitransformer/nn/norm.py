"""Layer normalisation (Ba et al., 2016), forward and backward written by hand.

For each position, normalise the D features to mean 0 and variance 1, then scale and shift:

    μ = (1/D) Σ_i x_i          σ² = (1/D) Σ_i (x_i − μ)²        (biased variance)
    x̂ = (x − μ) / √(σ² + ε)    y = γ ⊙ x̂ + β

The backward pass, with g = ∂L/∂y and ĝ = g ⊙ γ:

    ∂L/∂x = (1/√(σ² + ε)) · (ĝ − mean(ĝ) − x̂ ⊙ mean(ĝ ⊙ x̂))
    ∂L/∂γ = Σ_positions g ⊙ x̂          ∂L/∂β = Σ_positions g

Writing it as a ``torch.autograd.Function`` saves only x̂ and 1/√(σ² + ε) for the backward pass,
instead of every intermediate of the forward, which makes it as light as ``nn.LayerNorm``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from minitransformer.nn.validation import check_last_dim

__all__ = ["LayerNorm", "LayerNormFunction", "layer_norm"]


class LayerNormFunction(torch.autograd.Function):
    """``y = γ ⊙ (x − μ)/√(σ² + ε) + β`` over the last dimension, with a hand-written backward."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps: float):
        # BEGIN EXERCISE 4.1
        mean = x.mean(dim=-1, keepdim=True)  # (..., 1)
        centered = x - mean  # (..., D)
        var = (centered * centered).mean(dim=-1, keepdim=True)  # (..., 1), biased
        rstd = torch.rsqrt(var + eps)  # (..., 1)
        x_hat = centered * rstd  # (..., D)
        y = x_hat * weight
        if bias is not None:
            y = y + bias
        # END EXERCISE
        ctx.save_for_backward(x_hat, rstd, weight)
        ctx.has_bias = bias is not None
        return y

    @staticmethod
    def backward(ctx, grad_y):
        x_hat, rstd, weight = ctx.saved_tensors
        batch_dims = tuple(range(grad_y.dim() - 1))
        # BEGIN EXERCISE 4.2
        g_hat = grad_y * weight  # (..., D)
        grad_x = rstd * (
            g_hat
            - g_hat.mean(dim=-1, keepdim=True)
            - x_hat * (g_hat * x_hat).mean(dim=-1, keepdim=True)
        )
        grad_weight = (grad_y * x_hat).sum(dim=batch_dims)  # (D,)
        grad_bias = grad_y.sum(dim=batch_dims) if ctx.has_bias else None  # (D,)
        # END EXERCISE
        return grad_x, grad_weight, grad_bias, None


def layer_norm(x, weight, bias=None, eps: float = 1e-5) -> torch.Tensor:
    """Functional form: normalise ``x`` ``(..., D)`` over D with ``weight``/``bias`` ``(D,)``."""
    return LayerNormFunction.apply(x, weight, bias, eps)


class LayerNorm(nn.Module):
    """Layer norm over the last dimension ``d_model``; ``(..., D) -> (..., D)``.

    Args:
        d_model: D, the size of the normalised (last) dimension.
        eps: ε, added to the variance inside the square root.
        bias: learn a shift β (True) or not.
        fused: use PyTorch's fused kernel (``F.layer_norm``) instead of the hand-written one: an
            opt-in fast path, switched on with ``attention_backend="sdpa"`` in the layers.
    """

    def __init__(self, d_model: int, eps: float = 1e-5, bias: bool = True, fused: bool = False):
        super().__init__()
        self.d_model, self.eps, self.fused = d_model, eps, fused
        self.weight = nn.Parameter(torch.ones(d_model))  # γ
        self.bias = nn.Parameter(torch.zeros(d_model)) if bias else None  # β

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_last_dim("x", x, self.d_model)
        if self.fused:
            return F.layer_norm(x, (self.d_model,), self.weight, self.bias, self.eps)
        return layer_norm(x, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.d_model}, eps={self.eps}, bias={self.bias is not None}"
