"""minitransformer: a from-scratch, educational Transformer on PyTorch.

The core, in the order a learner meets it:

* :func:`softmax`, :func:`scaled_dot_product_attention`          (``functional.py``)
* :func:`causal_mask`, :func:`padding_mask`, :func:`merge_masks`   (``masks.py``)
* :class:`MultiHeadAttention`, :class:`KVCache`                    (``attention.py``)
* :class:`SinusoidalPositionalEncoding`, :class:`LearnedPositionalEmbedding`, RoPE
* :class:`LayerNorm`, :class:`FeedForward`, :class:`ResidualConnection`
* :class:`EncoderLayer`, :class:`Encoder`, :class:`DecoderLayer`, :class:`Decoder`
* :class:`Transformer` (encoder–decoder), :class:`TransformerConfig`, :class:`EncoderConfig`
"""

from minitransformer.attention import KVCache, MultiHeadAttention, merge_heads, split_heads
from minitransformer.attention_maps import record_attention
from minitransformer.config import EncoderConfig, TransformerConfig
from minitransformer.decoder import Decoder, DecoderCache, DecoderLayer, LayerCache
from minitransformer.embedding import TokenEmbedding
from minitransformer.encoder import Encoder, EncoderLayer
from minitransformer.feedforward import FeedForward
from minitransformer.functional import scaled_dot_product_attention, softmax
from minitransformer.io import PretrainedMixin
from minitransformer.masks import causal_mask, merge_masks, padding_mask
from minitransformer.norm import LayerNorm, layer_norm
from minitransformer.positional import LearnedPositionalEmbedding, SinusoidalPositionalEncoding
from minitransformer.residual import ResidualConnection
from minitransformer.rotary import RotaryEmbedding
from minitransformer.transformer import Transformer

__version__ = "0.1.0"

combine_masks = merge_masks  # the name some courses use

__all__ = [
    "Decoder", "DecoderCache", "DecoderLayer", "Encoder", "EncoderConfig", "EncoderLayer",
    "FeedForward", "KVCache", "LayerCache", "LayerNorm", "LearnedPositionalEmbedding",
    "MultiHeadAttention", "PretrainedMixin", "ResidualConnection", "RotaryEmbedding",
    "SinusoidalPositionalEncoding", "TokenEmbedding", "Transformer", "TransformerConfig",
    "causal_mask", "combine_masks", "layer_norm", "merge_heads", "merge_masks", "padding_mask",
    "record_attention", "scaled_dot_product_attention", "softmax", "split_heads", "__version__",
]
