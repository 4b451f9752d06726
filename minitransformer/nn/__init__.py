"""The hand-written Transformer, one concept per file. Read it top to bottom:

===================  ==========================================================================
file                 what it holds
===================  ==========================================================================
``functional.py``    stable ``softmax`` and ``scaled_dot_product_attention`` = softmax(QKᵀ/√d_k)V
``masks.py``         ``causal_mask``, ``padding_mask``, ``merge_masks``: which keys a query may see
``attention.py``     ``MultiHeadAttention`` (W_q, W_k, W_v, W_o; self and cross), ``KVCache``
``positional.py``    sinusoidal and learned positions: attention itself is blind to order
``rotary.py``        rotary position embeddings (RoPE): positions as rotations of q and k
``embedding.py``     ``TokenEmbedding``: token id -> √D · E[id]
``norm.py``          ``LayerNorm`` with its backward pass written as an ``autograd.Function``
``feedforward.py``   ``FeedForward``: the position-wise two-layer MLP
``residual.py``      ``ResidualConnection``: x + sublayer(x), layer norm before or after
``encoder.py``       ``EncoderLayer`` (self-attention + FFN) and the ``Encoder`` stack
``decoder.py``       ``DecoderLayer`` (masked self-attention + cross-attention + FFN), ``Decoder``
``transformer.py``   the encoder–decoder ``Transformer`` with the seed's signature
``language_model.py``  ``CausalLM``: a decoder-only (GPT-style) language model
``text_encoder.py``  ``TextEncoder``: a bidirectional (BERT-style) encoder over token ids, its heads
``config.py``        the dataclass configs (``EncoderConfig``, ``TransformerConfig``)
``io.py``            ``save_pretrained`` / ``from_pretrained``: safetensors + JSON, atomic
``validation.py``    input checks whose messages name the argument, what came and what was expected
``backend.py``       opt-in switch to PyTorch's fused attention and layer norm (the default is ours)
===================  ==========================================================================

The public names are importable from :mod:`minitransformer` itself (``from minitransformer
import Encoder``) and from here. Nothing in this folder imports the rest of the package.
"""

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

__all__ = [
    "CausalLM", "CausalLMConfig", "Decoder", "DecoderCache", "DecoderLayer", "Encoder", "EncoderConfig",
    "EncoderLayer", "FeedForward", "KVCache", "LayerCache", "LayerNorm", "LearnedPositionalEmbedding",
    "MultiHeadAttention", "PretrainedMixin", "ResidualConnection", "RotaryEmbedding",
    "SinusoidalPositionalEncoding", "TextEncoder", "TextEncoderConfig", "TokenEmbedding", "Transformer",
    "TransformerConfig", "causal_mask",
    "layer_norm", "merge_heads", "merge_masks", "padding_mask", "scaled_dot_product_attention",
    "set_attention_backend", "softmax", "split_heads",
]
