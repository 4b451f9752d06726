"""Multi-head attention, usable as self-attention, cross-attention and with a KV cache.

Each of H heads attends in its own Dh = D/H dimensional subspace, then the heads are
concatenated and mixed by an output projection:

    head_h = Attention(X_q W_q^h, X_k W_k^h, X_v W_v^h)
    MHA(X_q, X_k, X_v) = Concat(head_1, …, head_H) W_o

In code the H projections are one ``nn.Linear(D, D)`` each for W_q, W_k, W_v, whose output is
split into heads: ``(B, T, D) -> (B, H, T, Dh)``.

Incremental decoding: a decoder that generates one token per step would recompute the keys and
values of the whole prefix each step. A :class:`KVCache` keeps them, so each step projects only
the new token and attends over the cached keys. The result equals a full forward pass.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from minitransformer.nn.functional import scaled_dot_product_attention
from minitransformer.nn.masks import causal_mask, merge_masks
from minitransformer.nn.rotary import RotaryEmbedding
from minitransformer.nn.validation import check_last_dim, check_mask, check_rank, check_same_batch

__all__ = ["MultiHeadAttention", "KVCache", "split_heads", "merge_heads"]

BACKENDS = ("manual", "sdpa")


def split_heads(x: torch.Tensor, nhead: int) -> torch.Tensor:
    """``(B, T, D) -> (B, H, T, Dh)`` with Dh = D / H."""
    # BEGIN EXERCISE 2.1
    batch, length, d_model = x.shape
    return x.view(batch, length, nhead, d_model // nhead).transpose(1, 2)
    # END EXERCISE


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """``(B, H, T, Dh) -> (B, T, H·Dh)``, the inverse of :func:`split_heads`."""
    # BEGIN EXERCISE 2.1
    batch, nhead, length, head_dim = x.shape
    return x.transpose(1, 2).reshape(batch, length, nhead * head_dim)
    # END EXERCISE


class KVCache:
    """Keys and values ``(B, H, T_cached, Dh)`` kept between decoding steps.

    Args:
        static: False for self-attention (each step appends the new token's key and value);
            True for cross-attention (the encoder memory is projected once, then reused).
    """

    def __init__(self, static: bool = False):
        self.static = static
        self.key: torch.Tensor | None = None
        self.value: torch.Tensor | None = None
        self.position = 0  # query positions already processed (the RoPE / causal offset)

    def __len__(self) -> int:
        return 0 if self.key is None else self.key.size(-2)

    def update(self, key: torch.Tensor, value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append ``(B, H, T_new, Dh)`` keys/values; return everything cached so far."""
        # BEGIN EXERCISE 5.1
        if self.key is None or self.static:
            self.key, self.value = key, value
        else:
            self.key = torch.cat([self.key, key], dim=-2)  # (B, H, T_cached + T_new, Dh)
            self.value = torch.cat([self.value, value], dim=-2)
        return self.key, self.value
        # END EXERCISE

    def reorder(self, index: torch.Tensor) -> None:
        """Keep batch rows ``index`` (beam search reorders hypotheses every step)."""
        if self.key is not None:
            self.key = self.key.index_select(0, index)
            self.value = self.value.index_select(0, index)


class MultiHeadAttention(nn.Module):
    """Multi-head attention with separate W_q, W_k, W_v, W_o.

    Args:
        d_model: D, the width of queries, keys, values and output.
        nhead: H; must divide D.
        dropout: dropout on the attention weights (training only).
        bias: learn biases in the four projections.
        rotary: apply rotary position embeddings (RoPE) to queries and keys.
        attention_backend: ``"manual"`` (default, the hand-written
            :func:`~minitransformer.nn.functional.scaled_dot_product_attention`) or ``"sdpa"``
            (an opt-in fast path: PyTorch's fused ``F.scaled_dot_product_attention``, and one
            matmul for the three projections of self-attention; the layers then also use
            PyTorch's fused layer norm).
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dropout: float = 0.0,
        bias: bool = True,
        rotary: bool = False,
        attention_backend: str = "manual",
    ):
        super().__init__()
        if d_model % nhead:
            raise ValueError(f"nhead: d_model={d_model} must be divisible by nhead={nhead}")
        if attention_backend not in BACKENDS:
            raise ValueError(f"attention_backend: expected one of {BACKENDS}, got {attention_backend!r}")
        self.d_model, self.nhead, self.head_dim = d_model, nhead, d_model // nhead
        self.dropout = dropout
        self.attention_backend = attention_backend
        self.w_q = nn.Linear(d_model, d_model, bias=bias)
        self.w_k = nn.Linear(d_model, d_model, bias=bias)
        self.w_v = nn.Linear(d_model, d_model, bias=bias)
        self.w_o = nn.Linear(d_model, d_model, bias=bias)
        self.rotary = RotaryEmbedding(self.head_dim) if rotary else None
        self.recorder: tuple[dict, str] | None = None  # set by minitransformer.record_attention
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        # Glorot-uniform over the fused (3D, D) input projection, as nn.MultiheadAttention does.
        bound = math.sqrt(6.0 / (self.d_model + 3 * self.d_model))
        for linear in (self.w_q, self.w_k, self.w_v):
            nn.init.uniform_(linear.weight, -bound, bound)
        for linear in (self.w_q, self.w_k, self.w_v, self.w_o):
            if linear.bias is not None:
                nn.init.zeros_(linear.bias)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        attn_mask: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
        need_weights: bool = False,
        cache: KVCache | None = None,
        is_causal: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attend from ``query`` ``(B, T_q, D)`` to ``key``/``value`` ``(B, T_k, D)``.

        Args:
            attn_mask: bool ``(T_q, T_k)`` or ``(B, H, T_q, T_k)``, **True = may attend**, or an
                additive float mask; ``(B, T_q, T_k)`` is read as one mask per batch row.
            key_padding_mask: bool ``(B, T_k)``, **True = padding** (PyTorch's convention).
            need_weights: also return the attention weights ``(B, H, T_q, T_k)``.
            cache: a :class:`KVCache`; the keys and values of this call are appended to it (or,
                for a static cache that is already filled, the cached ones are reused).
            is_causal: add a causal mask (query i may see keys up to its own position, counting
                the positions already in ``cache``).

        Returns:
            ``(out, weights)``: ``out`` ``(B, T_q, D)``; ``weights`` or ``None``.
        """
        self._check_inputs(query, key, value)
        offset = cache.position if cache is not None else 0
        reuse_cache = cache is not None and cache.static and cache.key is not None
        fused = self.attention_backend == "sdpa" and query is key and key is value and not reuse_cache
        if fused:
            q, k, v = self._fused_self_projection(query)  # the opt-in fast path: one matmul
        else:
            # BEGIN EXERCISE 2.2
            q = split_heads(self.w_q(query), self.nhead)  # (B, H, T_q, Dh)
            # END EXERCISE
        if reuse_cache:
            k, v = cache.key, cache.value  # (B, H, T_k, Dh), projected on the first step
        else:
            if not fused:
                # BEGIN EXERCISE 2.2
                k = split_heads(self.w_k(key), self.nhead)  # (B, H, T_k, Dh)
                v = split_heads(self.w_v(value), self.nhead)  # (B, H, T_k, Dh)
                # END EXERCISE
            if self.rotary is not None:
                k = self.rotary(k, offset)
            if cache is not None:
                k, v = cache.update(k, v)  # (B, H, T_cached + T_k, Dh)
        if self.rotary is not None:
            q = self.rotary(q, offset)

        t_q, t_k = q.size(-2), k.size(-2)
        if cache is not None:
            cache.position += t_q
        mask = self._combine_masks(attn_mask, key_padding_mask, is_causal, q, t_q, t_k)
        dropout_p = self.dropout if self.training else 0.0
        want_weights = need_weights or self.recorder is not None
        if self.attention_backend == "sdpa" and not want_weights:
            out, weights = _fused_attention(q, k, v, mask, dropout_p), None
        else:
            out, weights = scaled_dot_product_attention(q, k, v, mask, dropout_p)
        if self.recorder is not None:
            maps, name = self.recorder
            maps[name] = weights.detach()
        # BEGIN EXERCISE 2.2
        out = self.w_o(merge_heads(out))  # (B, T_q, D)
        # END EXERCISE
        return out, (weights if need_weights else None)

    def _fused_self_projection(self, x: torch.Tensor):
        """Fast path for self-attention: X [W_q; W_k; W_v]ᵀ as one matmul, then split in three."""
        weight = torch.cat([self.w_q.weight, self.w_k.weight, self.w_v.weight])  # (3D, D)
        bias = None if self.w_q.bias is None else torch.cat([self.w_q.bias, self.w_k.bias, self.w_v.bias])
        q, k, v = F.linear(x, weight, bias).chunk(3, dim=-1)  # 3 × (B, T, D)
        return tuple(split_heads(t, self.nhead) for t in (q, k, v))  # 3 × (B, H, T, Dh)

    def _check_inputs(self, query, key, value) -> None:
        for name, t in (("query", query), ("key", key), ("value", value)):
            check_rank(name, t, 3, f"(B, T, {self.d_model})")
            check_last_dim(name, t, self.d_model)
        check_same_batch(query=query, key=key, value=value)
        if key.size(1) != value.size(1):
            raise ValueError(
                f"value: expected T_k={key.size(1)} positions to match key, got {value.size(1)}"
            )

    def _combine_masks(self, attn_mask, key_padding_mask, is_causal, q, t_q, t_k):
        batch = q.size(0)
        if isinstance(attn_mask, torch.Tensor) and attn_mask.dim() == 3:
            check_mask("attn_mask", attn_mask, (batch, t_q, t_k), "one (T_q, T_k) mask per batch row")
            attn_mask = attn_mask.unsqueeze(1)  # (B, 1, T_q, T_k)
        check_mask("attn_mask", attn_mask, (batch, self.nhead, t_q, t_k),
                   "True = may attend, or additive floats")
        if key_padding_mask is not None and tuple(key_padding_mask.shape) != (batch, t_k):
            raise ValueError(
                f"key_padding_mask: expected shape ({batch}, {t_k}) (True = padding), "
                f"got {tuple(key_padding_mask.shape)}"
            )
        if is_causal:
            causal = causal_mask(t_q, t_k, device=q.device)
            if attn_mask is None:
                attn_mask = causal
            elif attn_mask.dtype == torch.bool:
                attn_mask = attn_mask & causal
            else:
                attn_mask = attn_mask.masked_fill(~causal, -math.inf)
        if attn_mask is not None and attn_mask.is_floating_point():
            attn_mask = attn_mask.to(q.dtype)
        return merge_masks(attn_mask, key_padding_mask, dtype=q.dtype)


def _fused_attention(q, k, v, mask, dropout_p: float) -> torch.Tensor:
    """The opt-in fast path: PyTorch's fused kernel, with our fully-masked-row policy (zeros)."""
    if mask is None or mask.dtype != torch.bool:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
    has_key = mask.any(dim=-1, keepdim=True)  # (..., T_q, 1)
    if bool(has_key.all()):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask | ~has_key, dropout_p=dropout_p)
    return out * has_key
