"""The encoder: a stack of identical layers, each self-attention then a feed-forward block.

    EncoderLayer(x) = Residual(FFN)( Residual(SelfAttention)(x) )
    Encoder(x)      = [LayerNorm] ∘ EncoderLayer_N ∘ … ∘ EncoderLayer_1 (x)

Every position attends to every other (unless masked), so the encoder is *bidirectional*; pass
``is_causal=True`` for a decoder-only (GPT/SASRec-style) stack. Shapes: ``(B, T, D) -> (B, T, D)``.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from minitransformer.nn.attention import KVCache, MultiHeadAttention
from minitransformer.nn.config import EncoderConfig
from minitransformer.nn.feedforward import FeedForward
from minitransformer.nn.io import PretrainedMixin
from minitransformer.nn.norm import LayerNorm
from minitransformer.nn.residual import ResidualConnection
from minitransformer.nn.validation import check_float, check_last_dim, check_rank

__all__ = ["EncoderLayer", "Encoder"]


class EncoderLayer(nn.Module):
    """Self-attention + feed-forward, each wrapped in a residual connection with layer norm.

    Args:
        d_model, nhead, dim_feedforward, dropout, activation: as in ``nn.TransformerEncoderLayer``.
        norm_first: pre-norm (True) or post-norm (False, the 2017 paper).
        layer_norm_eps, bias: passed to the layer norms and linear layers.
        rotary, attention_backend: passed to :class:`MultiHeadAttention`.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str = "relu", norm_first: bool = False, layer_norm_eps: float = 1e-5,
                 bias: bool = True, rotary: bool = False, attention_backend: str = "manual"):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, nhead, dropout, bias, rotary, attention_backend)
        fused = attention_backend == "sdpa"  # the fast path also takes PyTorch's layer-norm kernel
        residual_args = (d_model, dropout, norm_first, layer_norm_eps, bias, fused)
        self.attn_residual = ResidualConnection(*residual_args)
        self.feed_forward = FeedForward(d_model, dim_feedforward, dropout, activation, bias)
        self.ff_residual = ResidualConnection(*residual_args)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                key_padding_mask: torch.Tensor | None = None, is_causal: bool = False,
                need_weights: bool = False, cache: KVCache | None = None):
        """``x`` ``(B, T, D)`` -> ``(B, T, D)``, or ``(out, weights (B, H, T, T))`` if
        ``need_weights``. ``mask``: True = may attend; ``key_padding_mask``: True = padding.
        ``cache``: a :class:`KVCache` for one-token-at-a-time decoding in a causal stack."""
        weights = None

        def self_attention(h: torch.Tensor) -> torch.Tensor:
            nonlocal weights
            out, weights = self.self_attn(h, h, h, mask, key_padding_mask, need_weights,
                                          cache, is_causal)
            return out

        # BEGIN EXERCISE 4.5
        x = self.attn_residual(x, self_attention)  # (B, T, D)
        x = self.ff_residual(x, self.feed_forward)  # (B, T, D)
        # END EXERCISE
        return (x, weights) if need_weights else x


class Encoder(PretrainedMixin, nn.Module):
    """``num_layers`` encoder layers and an optional final layer norm.

    ``final_norm`` defaults to ``norm_first``: a pre-norm stack needs a last layer norm, a
    post-norm stack already ends with one. All other arguments go to :class:`EncoderLayer`.
    The arguments are kept in ``self.config`` (:class:`EncoderConfig`), so an encoder can be
    saved with ``save_pretrained(dir)`` and rebuilt with ``Encoder.from_pretrained(dir)``.
    """

    config_class = EncoderConfig

    def __init__(self, d_model: int, nhead: int, num_layers: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str = "relu", norm_first: bool = False,
                 final_norm: bool | None = None, layer_norm_eps: float = 1e-5, bias: bool = True,
                 rotary: bool = False, attention_backend: str = "manual"):
        super().__init__()
        self.config = EncoderConfig(d_model, nhead, num_layers, dim_feedforward, dropout,
                                    activation, norm_first, final_norm, layer_norm_eps, bias,
                                    rotary, attention_backend)
        self.d_model = d_model
        self.layers = nn.ModuleList(
            EncoderLayer(d_model, nhead, dim_feedforward, dropout, activation, norm_first,
                         layer_norm_eps, bias, rotary, attention_backend)
            for _ in range(num_layers)
        )
        final_norm = norm_first if final_norm is None else final_norm
        fused = attention_backend == "sdpa"
        self.norm = LayerNorm(d_model, layer_norm_eps, bias, fused) if final_norm else None

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                key_padding_mask: torch.Tensor | None = None, is_causal: bool = False,
                need_weights: bool = False, cache: list[KVCache] | None = None):
        """``x`` ``(B, T, D)`` -> ``(B, T, D)``; with ``need_weights`` also a list of per-layer
        weights ``(B, H, T, T)``. ``cache``: one :class:`KVCache` per layer (see
        :meth:`new_cache`) for incremental decoding with ``is_causal=True``."""
        check_rank("x", x, 3, f"(B, T, {self.d_model})")
        check_float("x", x)
        check_last_dim("x", x, self.d_model)
        all_weights = []
        for i, layer in enumerate(self.layers):
            layer_cache = cache[i] if cache is not None else None
            out = layer(x, mask, key_padding_mask, is_causal, need_weights, layer_cache)
            x, weights = out if need_weights else (out, None)
            all_weights.append(weights)
        if self.norm is not None:
            x = self.norm(x)
        return (x, all_weights) if need_weights else x

    @classmethod
    def from_config(cls, config: EncoderConfig) -> Encoder:
        return cls(**dataclasses.asdict(config))

    def new_cache(self) -> list[KVCache]:
        """An empty KV cache for each layer."""
        return [KVCache() for _ in self.layers]
