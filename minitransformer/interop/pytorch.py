"""Build our modules from PyTorch's built-in ones, holding the same weights.

``from_torch(module)`` accepts ``nn.MultiheadAttention``, ``nn.LayerNorm``,
``nn.TransformerEncoderLayer``, ``nn.TransformerDecoderLayer``, ``nn.TransformerEncoder`` and
``nn.TransformerDecoder`` (``batch_first=True``; both ``norm_first`` settings; ReLU or GELU), and
returns the equivalent :mod:`minitransformer` module. The tests use it to check, weight for weight,
that the hand-written code computes what PyTorch computes.

Mask conventions differ: PyTorch's *boolean* ``attn_mask`` means True = blocked, ours
True = may attend, so invert boolean attention masks (``~mask``) when you call our module.
Key-padding masks (True = padding) and float masks mean the same in both.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from minitransformer.nn.attention import MultiHeadAttention
from minitransformer.nn.decoder import Decoder, DecoderLayer
from minitransformer.nn.encoder import Encoder, EncoderLayer
from minitransformer.nn.norm import LayerNorm

__all__ = ["from_torch"]


def _copy_(target: torch.Tensor, source: torch.Tensor) -> None:
    with torch.no_grad():
        target.copy_(source.detach())


def _attention(src: nn.MultiheadAttention) -> MultiHeadAttention:
    if src.bias_k is not None or src.add_zero_attn:
        raise ValueError("module: add_bias_kv and add_zero_attn are not supported")
    if src.kdim != src.embed_dim or src.vdim != src.embed_dim:
        raise ValueError("module: kdim/vdim different from embed_dim are not supported")
    bias = src.in_proj_bias is not None
    ours = MultiHeadAttention(src.embed_dim, src.num_heads, src.dropout, bias=bias)
    ours = ours.to(next(src.parameters()).dtype)
    if src.in_proj_weight is not None:
        w_q, w_k, w_v = src.in_proj_weight.chunk(3)
    else:
        w_q, w_k, w_v = src.q_proj_weight, src.k_proj_weight, src.v_proj_weight
    for linear, weight in ((ours.w_q, w_q), (ours.w_k, w_k), (ours.w_v, w_v)):
        _copy_(linear.weight, weight)
    _copy_(ours.w_o.weight, src.out_proj.weight)
    if bias:
        for linear, b in zip((ours.w_q, ours.w_k, ours.w_v), src.in_proj_bias.chunk(3)):
            _copy_(linear.bias, b)
        _copy_(ours.w_o.bias, src.out_proj.bias)
    return ours


def _layer_norm(src: nn.LayerNorm) -> LayerNorm:
    if len(src.normalized_shape) != 1 or not src.elementwise_affine:
        raise ValueError("module: only nn.LayerNorm over the last dimension with affine weights")
    ours = LayerNorm(src.normalized_shape[0], eps=src.eps, bias=src.bias is not None)
    ours = ours.to(src.weight.dtype)
    _copy_(ours.weight, src.weight)
    if src.bias is not None:
        _copy_(ours.bias, src.bias)
    return ours


def _activation_name(layer: nn.Module) -> str:
    activation = layer.activation
    if activation is F.relu or isinstance(activation, nn.ReLU):
        return "relu"
    if activation is F.gelu or (isinstance(activation, nn.GELU) and activation.approximate == "none"):
        return "gelu"
    raise ValueError(f"module: activation {activation!r} is not supported (relu or gelu)")


def _layer_settings(layer: nn.Module) -> dict:
    if not layer.self_attn.batch_first:
        raise ValueError("module: only batch_first=True layers are supported (ours are batch-first)")
    return dict(d_model=layer.self_attn.embed_dim, nhead=layer.self_attn.num_heads,
                dim_feedforward=layer.linear1.out_features, dropout=layer.dropout.p,
                activation=_activation_name(layer), norm_first=layer.norm_first,
                layer_norm_eps=layer.norm1.eps, bias=layer.linear1.bias is not None)


def _copy_feedforward(ours, src) -> None:
    for name in ("linear1", "linear2"):
        ours_linear, src_linear = getattr(ours.feed_forward, name), getattr(src, name)
        _copy_(ours_linear.weight, src_linear.weight)
        if src_linear.bias is not None:
            _copy_(ours_linear.bias, src_linear.bias)


def _encoder_layer(src: nn.TransformerEncoderLayer) -> EncoderLayer:
    ours = EncoderLayer(**_layer_settings(src)).to(src.linear1.weight.dtype)
    ours.self_attn = _attention(src.self_attn)
    ours.attn_residual.norm = _layer_norm(src.norm1)
    ours.ff_residual.norm = _layer_norm(src.norm2)
    _copy_feedforward(ours, src)
    return ours


def _decoder_layer(src: nn.TransformerDecoderLayer) -> DecoderLayer:
    ours = DecoderLayer(**_layer_settings(src)).to(src.linear1.weight.dtype)
    ours.self_attn = _attention(src.self_attn)
    ours.cross_attn = _attention(src.multihead_attn)
    ours.self_attn_residual.norm = _layer_norm(src.norm1)
    ours.cross_attn_residual.norm = _layer_norm(src.norm2)
    ours.ff_residual.norm = _layer_norm(src.norm3)
    _copy_feedforward(ours, src)
    return ours


def _stack(src, ours_cls, convert_layer):
    settings = _layer_settings(src.layers[0])
    ours = ours_cls(num_layers=len(src.layers), final_norm=src.norm is not None, **settings)
    ours = ours.to(src.layers[0].linear1.weight.dtype)
    ours.layers = nn.ModuleList(convert_layer(layer) for layer in src.layers)
    if src.norm is not None:
        ours.norm = _layer_norm(src.norm)
    return ours


def from_torch(module: nn.Module) -> nn.Module:
    """Our equivalent of a PyTorch Transformer building block, with its weights copied.

    Returns a module in the same train/eval mode as ``module``.
    """
    if isinstance(module, nn.MultiheadAttention):
        ours = _attention(module)
    elif isinstance(module, nn.LayerNorm):
        ours = _layer_norm(module)
    elif isinstance(module, nn.TransformerEncoderLayer):
        ours = _encoder_layer(module)
    elif isinstance(module, nn.TransformerDecoderLayer):
        ours = _decoder_layer(module)
    elif isinstance(module, nn.TransformerEncoder):
        ours = _stack(module, Encoder, _encoder_layer)
    elif isinstance(module, nn.TransformerDecoder):
        ours = _stack(module, Decoder, _decoder_layer)
    else:
        raise TypeError(
            f"module: expected nn.MultiheadAttention, nn.LayerNorm or an nn.Transformer "
            f"encoder/decoder (layer), got {type(module).__name__}"
        )
    return ours.train(module.training)
