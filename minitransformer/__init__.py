"""minitransformer: a from-scratch, educational Transformer on PyTorch.

The hand-written Transformer is the folder ``nn/`` (its docstring gives the reading order, one
line per file); everything else is a subpackage named for its job: ``training/`` (the loop and
the objectives: token masking, self-training, teacher forcing), ``generation/``,
``tokenizers/``, ``metrics/``, ``files/`` (users' CSVs, run folders), ``pictures/``,
``interop/`` (PyTorch and NumPy oracles), ``exercises/`` (the course), ``examples/``,
``cli/`` (the command line); ``errors.py`` holds every error class.

The names most used, importable from here:

* :func:`softmax`, :func:`scaled_dot_product_attention`          (``nn/functional.py``)
* :func:`causal_mask`, :func:`padding_mask`, :func:`merge_masks`   (``nn/masks.py``)
* :class:`MultiHeadAttention`, :class:`KVCache`                    (``nn/attention.py``)
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
    "scaled_dot_product_attention": "nn.functional", "softmax": "nn.functional",
    "causal_mask": "nn.masks", "padding_mask": "nn.masks", "merge_masks": "nn.masks",
    "MultiHeadAttention": "nn.attention", "KVCache": "nn.attention", "split_heads": "nn.attention",
    "merge_heads": "nn.attention", "record_attention": "pictures.attention_maps",
    "SinusoidalPositionalEncoding": "nn.positional", "LearnedPositionalEmbedding": "nn.positional",
    "RotaryEmbedding": "nn.rotary", "LayerNorm": "nn.norm", "layer_norm": "nn.norm",
    "FeedForward": "nn.feedforward", "ResidualConnection": "nn.residual", "TokenEmbedding": "nn.embedding",
    "EncoderLayer": "nn.encoder", "Encoder": "nn.encoder",
    "DecoderLayer": "nn.decoder", "Decoder": "nn.decoder", "DecoderCache": "nn.decoder",
    "LayerCache": "nn.decoder",
    "Transformer": "nn.transformer", "TransformerConfig": "nn.config", "EncoderConfig": "nn.config",
    "PretrainedMixin": "nn.io", "CausalLM": "nn.language_model", "CausalLMConfig": "nn.language_model",
    "TextEncoder": "nn.text_encoder", "TextEncoderConfig": "nn.text_encoder",
    "generate": "generation", "set_attention_backend": "nn.backend",
    "plot_attention": "pictures.plotting", "plot_training_curves": "pictures.plotting",  # need the plot extra
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
    from minitransformer.generation import generate
    from minitransformer.nn.attention import KVCache, MultiHeadAttention, merge_heads, split_heads
    from minitransformer.nn.backend import set_attention_backend
    from minitransformer.nn.config import EncoderConfig, TransformerConfig
    from minitransformer.nn.decoder import Decoder, DecoderCache, DecoderLayer, LayerCache
    from minitransformer.nn.embedding import TokenEmbedding
    from minitransformer.nn.encoder import Encoder, EncoderLayer
    from minitransformer.nn.feedforward import FeedForward
    from minitransformer.nn.functional import scaled_dot_product_attention, softmax
    from minitransformer.nn.io import PretrainedMixin
    from minitransformer.nn.language_model import CausalLM, CausalLMConfig
    from minitransformer.nn.masks import causal_mask, merge_masks, padding_mask
    from minitransformer.nn.norm import LayerNorm, layer_norm
    from minitransformer.nn.positional import LearnedPositionalEmbedding, SinusoidalPositionalEncoding
    from minitransformer.nn.residual import ResidualConnection
    from minitransformer.nn.rotary import RotaryEmbedding
    from minitransformer.nn.text_encoder import TextEncoder, TextEncoderConfig
    from minitransformer.nn.transformer import Transformer
    from minitransformer.pictures.attention_maps import record_attention
    from minitransformer.pictures.plotting import plot_attention, plot_training_curves
