"""minitransformer: a from-scratch, educational Transformer on PyTorch.

The core, in the order a learner meets it:

* :func:`softmax`, :func:`scaled_dot_product_attention`          (``functional.py``)
* :func:`causal_mask`, :func:`padding_mask`, :func:`merge_masks`   (``masks.py``)
* :class:`MultiHeadAttention`, :class:`KVCache`                    (``attention.py``)
* :class:`SinusoidalPositionalEncoding`, :class:`LearnedPositionalEmbedding`, RoPE
* :class:`LayerNorm`, :class:`FeedForward`, :class:`ResidualConnection`
* :class:`EncoderLayer`, :class:`Encoder`, :class:`DecoderLayer`, :class:`Decoder`
* :class:`Transformer` (encoder–decoder), :class:`TransformerConfig`, :class:`EncoderConfig`
* :func:`record_attention`, :func:`plot_attention`, :func:`plot_training_curves` (pictures need
  ``pip install minitransformer[plot]``)

Names are imported on first use (``minitransformer.Transformer`` loads ``transformer.py`` and
torch then), so that ``minitransformer --help`` answers without loading torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

#: public name -> the module that defines it
_EXPORTS = {
    "scaled_dot_product_attention": "functional", "softmax": "functional",
    "causal_mask": "masks", "padding_mask": "masks", "merge_masks": "masks",
    "MultiHeadAttention": "attention", "KVCache": "attention", "split_heads": "attention",
    "merge_heads": "attention", "record_attention": "attention_maps",
    "SinusoidalPositionalEncoding": "positional", "LearnedPositionalEmbedding": "positional",
    "RotaryEmbedding": "rotary", "LayerNorm": "norm", "layer_norm": "norm",
    "FeedForward": "feedforward", "ResidualConnection": "residual", "TokenEmbedding": "embedding",
    "EncoderLayer": "encoder", "Encoder": "encoder",
    "DecoderLayer": "decoder", "Decoder": "decoder", "DecoderCache": "decoder", "LayerCache": "decoder",
    "Transformer": "transformer", "TransformerConfig": "config", "EncoderConfig": "config",
    "PretrainedMixin": "io", "CausalLM": "language_model", "CausalLMConfig": "language_model",
    "generate": "generation", "set_attention_backend": "backend",
    "plot_attention": "plotting", "plot_training_curves": "plotting",  # need the plot extra
}
_ALIASES = {"combine_masks": "merge_masks"}  # the name some courses use

__all__ = sorted([*_EXPORTS, *_ALIASES, "__version__"])


def __getattr__(name: str):
    target = _ALIASES.get(name, name)
    if target not in _EXPORTS:
        raise AttributeError(f"module 'minitransformer' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"minitransformer.{_EXPORTS[target]}"), target)
    globals()[name] = value  # cache: the next access is a plain attribute lookup
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # static analysers and IDEs see ordinary imports
    from minitransformer.attention import KVCache, MultiHeadAttention, merge_heads, split_heads
    from minitransformer.attention_maps import record_attention
    from minitransformer.backend import set_attention_backend
    from minitransformer.config import EncoderConfig, TransformerConfig
    from minitransformer.decoder import Decoder, DecoderCache, DecoderLayer, LayerCache
    from minitransformer.embedding import TokenEmbedding
    from minitransformer.encoder import Encoder, EncoderLayer
    from minitransformer.feedforward import FeedForward
    from minitransformer.functional import scaled_dot_product_attention, softmax
    from minitransformer.generation import generate
    from minitransformer.io import PretrainedMixin
    from minitransformer.language_model import CausalLM, CausalLMConfig
    from minitransformer.masks import causal_mask, merge_masks, padding_mask
    from minitransformer.norm import LayerNorm, layer_norm
    from minitransformer.plotting import plot_attention, plot_training_curves
    from minitransformer.positional import LearnedPositionalEmbedding, SinusoidalPositionalEncoding
    from minitransformer.residual import ResidualConnection
    from minitransformer.rotary import RotaryEmbedding
    from minitransformer.transformer import Transformer
