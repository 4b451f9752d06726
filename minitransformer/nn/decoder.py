"""The decoder: masked self-attention, cross-attention over the encoder's output, feed-forward.

    DecoderLayer(y, memory) = Residual(FFN)( Residual(CrossAttn(·, memory))( Residual(MaskedSelfAttn)(y) ) )

*Masked* self-attention: position t may only look at positions ≤ t, so the model cannot peek at
the token it must predict. *Cross-attention*: queries from the decoder, keys and values from the
encoder's output ``memory`` ``(B, S, D)``. Shapes: ``(B, T, D) -> (B, T, D)``.

For generation one token at a time, pass a :class:`DecoderCache`; the layers then keep their
self-attention keys/values and the projected memory between steps.
"""

from __future__ import annotations

import torch
from torch import nn

from minitransformer.nn.attention import KVCache, MultiHeadAttention
from minitransformer.nn.feedforward import FeedForward
from minitransformer.nn.norm import LayerNorm
from minitransformer.nn.residual import ResidualConnection
from minitransformer.nn.validation import check_float, check_last_dim, check_rank, check_same_batch

__all__ = ["DecoderLayer", "Decoder", "DecoderCache", "LayerCache"]


class LayerCache:
    """The two KV caches of one decoder layer: growing self-attention, static cross-attention."""

    def __init__(self):
        self.self_attn = KVCache(static=False)
        self.cross_attn = KVCache(static=True)

    def reorder(self, index: torch.Tensor) -> None:
        self.self_attn.reorder(index)
        self.cross_attn.reorder(index)


class DecoderCache:
    """One :class:`LayerCache` per layer; ``len(cache)`` is the number of tokens decoded so far."""

    def __init__(self, num_layers: int):
        self.layers = [LayerCache() for _ in range(num_layers)]

    def __len__(self) -> int:
        return len(self.layers[0].self_attn) if self.layers else 0

    def reorder(self, index: torch.Tensor) -> None:
        """Keep batch rows ``index`` in every layer (used by beam search)."""
        for layer in self.layers:
            layer.reorder(index)


class DecoderLayer(nn.Module):
    """Masked self-attention, cross-attention and feed-forward, each with residual + layer norm.

    Arguments as :class:`~minitransformer.nn.encoder.EncoderLayer`.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str = "relu", norm_first: bool = False, layer_norm_eps: float = 1e-5,
                 bias: bool = True, rotary: bool = False, attention_backend: str = "manual"):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, nhead, dropout, bias, rotary, attention_backend)
        self.cross_attn = MultiHeadAttention(d_model, nhead, dropout, bias, False, attention_backend)
        self.feed_forward = FeedForward(d_model, dim_feedforward, dropout, activation, bias)
        fused = attention_backend == "sdpa"  # the fast path also takes PyTorch's layer-norm kernel
        residual_args = (d_model, dropout, norm_first, layer_norm_eps, bias, fused)
        self.self_attn_residual = ResidualConnection(*residual_args)
        self.cross_attn_residual = ResidualConnection(*residual_args)
        self.ff_residual = ResidualConnection(*residual_args)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, tgt_mask=None, memory_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None, tgt_is_causal: bool = True,
                cache: LayerCache | None = None, need_weights: bool = False):
        """``x`` ``(B, T, D)``, ``memory`` ``(B, S, D)`` -> ``(B, T, D)``.

        Args:
            tgt_mask: extra self-attention mask, bool (True = may attend) or additive float.
            memory_mask: cross-attention mask ``(T, S)``, same conventions.
            tgt_key_padding_mask: ``(B, T)`` True = padding (``(B, T_cached + T)`` with a cache).
            memory_key_padding_mask: ``(B, S)`` True = padding in the source.
            tgt_is_causal: apply the causal mask (default True: this is what makes it a decoder).
            cache: a :class:`LayerCache` for incremental decoding.
            need_weights: also return ``(self_weights (B, H, T, T), cross_weights (B, H, T, S))``.
        """
        self_weights = cross_weights = None
        self_cache = cache.self_attn if cache is not None else None
        cross_cache = cache.cross_attn if cache is not None else None

        def self_attention(h: torch.Tensor) -> torch.Tensor:
            nonlocal self_weights
            out, self_weights = self.self_attn(h, h, h, tgt_mask, tgt_key_padding_mask,
                                               need_weights, self_cache, is_causal=tgt_is_causal)
            return out

        def cross_attention(h: torch.Tensor) -> torch.Tensor:
            nonlocal cross_weights
            out, cross_weights = self.cross_attn(h, memory, memory, memory_mask,
                                                 memory_key_padding_mask, need_weights, cross_cache)
            return out

        # BEGIN EXERCISE 4.6
        x = self.self_attn_residual(x, self_attention)  # (B, T, D)
        x = self.cross_attn_residual(x, cross_attention)  # (B, T, D), reads memory (B, S, D)
        x = self.ff_residual(x, self.feed_forward)  # (B, T, D)
        # END EXERCISE
        return (x, (self_weights, cross_weights)) if need_weights else x


class Decoder(nn.Module):
    """``num_layers`` decoder layers and an optional final layer norm (default: ``norm_first``)."""

    def __init__(self, d_model: int, nhead: int, num_layers: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str = "relu", norm_first: bool = False,
                 final_norm: bool | None = None, layer_norm_eps: float = 1e-5, bias: bool = True,
                 rotary: bool = False, attention_backend: str = "manual"):
        super().__init__()
        self.d_model = d_model
        self.layers = nn.ModuleList(
            DecoderLayer(d_model, nhead, dim_feedforward, dropout, activation, norm_first,
                         layer_norm_eps, bias, rotary, attention_backend)
            for _ in range(num_layers)
        )
        final_norm = norm_first if final_norm is None else final_norm
        fused = attention_backend == "sdpa"
        self.norm = LayerNorm(d_model, layer_norm_eps, bias, fused) if final_norm else None

    def forward(self, x: torch.Tensor, memory: torch.Tensor, tgt_mask=None, memory_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None, tgt_is_causal: bool = True,
                cache: DecoderCache | None = None, need_weights: bool = False):
        """``(B, T, D), (B, S, D) -> (B, T, D)``; with ``need_weights`` also a list of per-layer
        ``(self_weights, cross_weights)``."""
        for name, t in (("x", x), ("memory", memory)):
            check_rank(name, t, 3, f"(B, T, {self.d_model})")
            check_float(name, t)
            check_last_dim(name, t, self.d_model)
        check_same_batch(x=x, memory=memory)
        all_weights = []
        for i, layer in enumerate(self.layers):
            layer_cache = cache.layers[i] if cache is not None else None
            out = layer(x, memory, tgt_mask, memory_mask, tgt_key_padding_mask,
                        memory_key_padding_mask, tgt_is_causal, layer_cache, need_weights)
            x, weights = out if need_weights else (out, None)
            all_weights.append(weights)
        if self.norm is not None:
            x = self.norm(x)
        return (x, all_weights) if need_weights else x
