"""Softmax and scaled dot-product attention, written by hand.

The one equation the whole package is built around (Vaswani et al., 2017):

    Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V

Shapes (the letters used everywhere in this package):
    B  batch size          T_q  number of queries     T_k  number of keys
    H  number of heads     D    query/key width       D_v  value width

Masks. ``attn_mask`` here follows the "True = may attend" convention: a boolean tensor
broadcastable to ``(..., T_q, T_k)`` whose ``True`` entries are the allowed (query, key) pairs.
A float ``attn_mask`` is *added* to the scores instead (0 keeps a pair, ``-inf`` removes it).
Padding masks elsewhere in the package use PyTorch's ``key_padding_mask`` meaning (True = padding);
:func:`minitransformer.nn.masks.merge_masks` is the one place where the two meet.

Fully masked rows. A query whose keys are *all* masked has nothing to attend to. Instead of the
NaN that ``exp(-inf) / 0`` would give, this package returns a row of zero weights, so the output
for that query is the zero vector and every gradient stays finite.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from minitransformer.nn.validation import check_attention_inputs

__all__ = ["softmax", "scaled_dot_product_attention"]


class _Softmax(torch.autograd.Function):
    """softmax(x)_i = exp(x_i - m) / Σ_j exp(x_j - m), with m = max_j x_j.

    Subtracting the row maximum m changes nothing mathematically (it cancels) but keeps every
    exponent ≤ 0, so ``exp`` never overflows. Rows that are entirely ``-inf`` get m = 0 and a sum of
    0; we divide by max(sum, tiny) so they come out as zeros.

    Backward: with y = softmax(x) and upstream gradient g,  ∂L/∂x = y ⊙ (g − Σ_j g_j y_j).
    Only y is saved, which is what makes the hand-written version as light as the built-in one.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, dim: int) -> torch.Tensor:
        # BEGIN EXERCISE 1.1
        row_max = x.amax(dim=dim, keepdim=True)
        row_max = row_max.masked_fill(row_max == -math.inf, 0.0)  # fully masked rows
        y = (x - row_max).exp_()  # in place (exp_, /=): one buffer instead of three
        total = y.sum(dim=dim, keepdim=True)
        y /= total.clamp_min(torch.finfo(x.dtype).tiny)
        # END EXERCISE
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, grad_y: torch.Tensor):
        (y,) = ctx.saved_tensors
        # BEGIN EXERCISE 1.1
        grad_x = grad_y * y  # g ⊙ y
        grad_x -= y * grad_x.sum(dim=ctx.dim, keepdim=True)  # − y (Σ_j g_j y_j)
        # END EXERCISE
        return grad_x, None


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Numerically stable softmax along ``dim``; a row of all ``-inf`` gives a row of zeros.

    Args:
        x: scores of any shape, e.g. ``(B, H, T_q, T_k)``.
        dim: the dimension that sums to 1.

    Returns:
        A tensor shaped like ``x`` whose rows along ``dim`` are non-negative and sum to 1
        (or are all zero when the whole row was ``-inf``).
    """
    return _Softmax.apply(x, dim)


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    attn_mask: torch.Tensor | None = None,
    dropout_p: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(Q Kᵀ / √d_k + mask) V, returning the output *and* the attention weights.

    Args:
        q: queries ``(..., T_q, D)``.
        k: keys ``(..., T_k, D)``.
        v: values ``(..., T_k, D_v)``.
        attn_mask: ``None``; a boolean mask broadcastable to ``(..., T_q, T_k)`` with
            **True = may attend**; or a float mask of the same shape added to the scores.
        dropout_p: probability of zeroing an attention weight (training only; the caller passes
            0.0 in eval mode). Surviving weights are scaled by 1 / (1 - p).

    Returns:
        ``(out, weights)`` with ``out`` ``(..., T_q, D_v)`` and ``weights`` ``(..., T_q, T_k)``
        (the weights before dropout). Rows whose keys are all masked give zero weights and a
        zero output.
    """
    check_attention_inputs(q, k, v, attn_mask)
    d_k = q.size(-1)
    # BEGIN EXERCISE 1.2
    # Scaling q (T_q × D numbers) instead of the scores (T_q × T_k) is the same maths, less work.
    scores = torch.matmul(q / math.sqrt(d_k), k.transpose(-2, -1))  # (..., T_q, T_k)
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            scores = scores.masked_fill(~attn_mask, -math.inf)
        else:
            scores = scores + attn_mask
    weights = softmax(scores, dim=-1)  # (..., T_q, T_k)
    dropped = F.dropout(weights, p=dropout_p) if dropout_p > 0.0 else weights
    out = torch.matmul(dropped, v)  # (..., T_q, D_v)
    # END EXERCISE
    return out, weights
