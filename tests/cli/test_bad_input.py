"""Wrong input fails early, with a message naming the argument, what was expected and what arrived."""

from __future__ import annotations

import re

import pytest
import torch

from minitransformer import (
    Decoder,
    Encoder,
    EncoderConfig,
    MultiHeadAttention,
    Transformer,
    TransformerConfig,
    scaled_dot_product_attention,
)

D, H = 16, 4


def msg(*parts: str) -> str:
    """A regex matching the literal parts in order, anything in between."""
    return ".*".join(re.escape(p) for p in parts)


@pytest.fixture
def mha():
    return MultiHeadAttention(D, H)


@pytest.fixture
def model():
    return Transformer(13, 13, d_model=D, nhead=H, num_encoder_layers=1, num_decoder_layers=1,
                       dim_feedforward=32, dropout=0.0, max_len=16)


# --------------------------------------------------------------------------- attention


def test_mha_wrong_rank(mha):
    """A 2-d query is refused: expected (B, T, 16), got 2-d (5, 16)."""
    with pytest.raises(ValueError, match=msg("query:", "3-d", "(B, T, 16)", "got 2-d", "(5, 16)")):
        mha(torch.randn(5, D), torch.randn(1, 5, D), torch.randn(1, 5, D))


@pytest.mark.parametrize("name", ["query", "key", "value"])
def test_mha_wrong_last_dimension(mha, name):
    """Each of query/key/value must end in d_model; the message shows the shape received."""
    args = {n: torch.randn(2, 5, D) for n in ("query", "key", "value")}
    args[name] = torch.randn(2, 5, 8)
    with pytest.raises(ValueError, match=msg(f"{name}:", "d_model=16", "16)", "got (2, 5, 8)")):
        mha(**args)


def test_mha_mismatched_batch_sizes(mha):
    """Query and key/value batches must agree; every batch size is listed."""
    with pytest.raises(ValueError, match=msg("mismatched batch sizes", "query has batch 2",
                                             "key has batch 3", "value has batch 3")):
        mha(torch.randn(2, 5, D), torch.randn(3, 5, D), torch.randn(3, 5, D))


def test_mha_key_value_length_mismatch(mha):
    """Keys and values pair up one to one: T_k must match."""
    with pytest.raises(ValueError, match=msg("value:", "T_k=5", "got 4")):
        mha(torch.randn(2, 3, D), torch.randn(2, 5, D), torch.randn(2, 4, D))


def test_mha_attn_mask_wrong_shape(mha):
    """A (4, 4) mask cannot broadcast to (B, H, 5, 5); both shapes are in the message."""
    x = torch.randn(2, 5, D)
    with pytest.raises(ValueError, match=msg("attn_mask:", "(2, 4, 5, 5)", "True = may attend",
                                             "got (4, 4)")):
        mha(x, x, x, attn_mask=torch.ones(4, 4, dtype=torch.bool))


def test_mha_per_batch_mask_wrong_batch_reports_shape_received(mha):
    """A (B, T_q, T_k) mask with the wrong batch reports the shape the caller passed, (3, 5, 5)."""
    x = torch.randn(2, 5, D)
    with pytest.raises(ValueError, match=msg("attn_mask:", "got (3, 5, 5)")):
        mha(x, x, x, attn_mask=torch.ones(3, 5, 5, dtype=torch.bool))


def test_mha_attn_mask_wrong_dtype(mha):
    """An integer mask is ambiguous (which convention?) and is refused with its dtype."""
    x = torch.randn(2, 5, D)
    with pytest.raises(TypeError, match=msg("attn_mask:", "bool or float mask", "torch.int64")):
        mha(x, x, x, attn_mask=torch.ones(5, 5, dtype=torch.long))


@pytest.mark.parametrize("shape", [(2, 4), (5,), (1, 5)])
def test_mha_key_padding_mask_wrong_shape(mha, shape):
    """key_padding_mask must be exactly (B, T_k): expected (2, 5), got the shape passed."""
    x = torch.randn(2, 5, D)
    with pytest.raises(ValueError, match=msg("key_padding_mask:", "(2, 5)", "True = padding",
                                             f"got {shape}")):
        mha(x, x, x, key_padding_mask=torch.zeros(shape, dtype=torch.bool))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(d_model=10, nhead=4), ValueError, "nhead: d_model=10 must be divisible by nhead=4"),
    (dict(d_model=16, nhead=4, attention_backend="flash"), ValueError,
     "attention_backend: expected one of ('manual', 'sdpa'), got 'flash'"),
])
def test_mha_bad_construction(kwargs, error, match):
    """Impossible head splits and unknown backends are refused at construction time."""
    with pytest.raises(error, match=re.escape(match)):
        MultiHeadAttention(**kwargs)


# --------------------------------------------------------------------------- functional


@pytest.mark.parametrize("q, k, v, error, match", [
    (torch.randn(4), torch.randn(3, 4), torch.randn(3, 2), ValueError, msg("q:", "(..., T, D)", "(4")),
    (torch.randn(2, 4), torch.randn(3, 5), torch.randn(3, 2), ValueError,
     msg("k:", "D=4", "(2, 4)", "got (3, 5)")),
    (torch.randn(2, 4), torch.randn(3, 4), torch.randn(6, 2), ValueError,
     msg("v:", "T_k=3", "(3, 4)", "got (6, 2)")),
    (torch.ones(2, 4, dtype=torch.long), torch.randn(3, 4), torch.randn(3, 2), TypeError,
     msg("q:", "floating-point", "torch.int64")),
], ids=["rank", "key-width", "value-rows", "int-query"])
def test_sdpa_bad_inputs(q, k, v, error, match):
    """The functional form checks ranks, widths, lengths and dtypes before computing anything."""
    with pytest.raises(error, match=match):
        scaled_dot_product_attention(q, k, v)


def test_sdpa_mask_wrong_shape():
    """A mask must broadcast to (..., T_q, T_k) = (2, 3); the message names both shapes."""
    q, k, v = torch.randn(2, 4), torch.randn(3, 4), torch.randn(3, 2)
    with pytest.raises(ValueError, match=msg("attn_mask:", "(2, 3)", "got (3, 2)")):
        scaled_dot_product_attention(q, k, v, torch.ones(3, 2, dtype=torch.bool))


# --------------------------------------------------------------------------- stacks


@pytest.mark.parametrize("x, error, match", [
    (torch.randn(5, D), ValueError, msg("x:", "3-d", "(B, T, 16)", "got 2-d", "(5, 16)")),
    (torch.randn(2, 5, 8), ValueError, msg("x:", "d_model=16", "got (2, 5, 8)")),
    (torch.ones(2, 5, D, dtype=torch.long), TypeError, msg("x:", "floating-point", "torch.int64")),
], ids=["rank", "last-dim", "integer"])
def test_encoder_bad_x(x, error, match):
    """Encoder input must be float (B, T, d_model)."""
    with pytest.raises(error, match=match):
        Encoder(D, H, 1, 32)(x)


def test_encoder_key_padding_mask_wrong_shape():
    """The encoder's key_padding_mask must be (B, T)."""
    with pytest.raises(ValueError, match=msg("key_padding_mask:", "(2, 5)", "got (2, 6)")):
        Encoder(D, H, 1, 32)(torch.randn(2, 5, D), key_padding_mask=torch.zeros(2, 6, dtype=torch.bool))


def test_decoder_memory_checks():
    """Decoder memory must be (B, S, d_model) with the same batch as the target."""
    dec = Decoder(D, H, 1, 32)
    with pytest.raises(ValueError, match=msg("memory:", "d_model=16", "got (2, 4, 8)")):
        dec(torch.randn(2, 3, D), torch.randn(2, 4, 8))
    with pytest.raises(ValueError, match=msg("mismatched batch sizes", "x has batch 2",
                                             "memory has batch 3")):
        dec(torch.randn(2, 3, D), torch.randn(3, 4, D))


# --------------------------------------------------------------------------- token ids


def test_float_token_ids(model):
    """Token ids must be integers; float ids would be silently truncated otherwise."""
    with pytest.raises(TypeError, match=msg("src:", "integer token ids", "torch.float32")):
        model(torch.ones(2, 5), torch.ones(2, 4, dtype=torch.long))


@pytest.mark.parametrize("bad_id", [13, -1])
def test_token_ids_out_of_vocabulary(model, bad_id):
    """An id outside [0, V) names the argument, the id and the valid range."""
    tgt = torch.ones(2, 4, dtype=torch.long)
    tgt[1, 2] = bad_id
    with pytest.raises(ValueError, match=msg("tgt:", f"token id {bad_id}", "[0, 13)")):
        model(torch.ones(2, 5, dtype=torch.long), tgt)


def test_token_ids_wrong_rank(model):
    """Ids must be (B, T): a 1-d sequence needs a batch dimension."""
    with pytest.raises(ValueError, match=msg("src:", "(B, T)", "got 1-d")):
        model(torch.ones(5, dtype=torch.long), torch.ones(1, 4, dtype=torch.long))


def test_source_and_target_batch_mismatch(model):
    """Source and target batches must agree."""
    with pytest.raises(ValueError, match=msg("mismatched batch sizes", "src has batch 2", "tgt has batch 3")):
        model(torch.ones(2, 5, dtype=torch.long), torch.ones(3, 4, dtype=torch.long))


# --------------------------------------------------------------------------- configs


@pytest.mark.parametrize("cls, kwargs, match", [
    (EncoderConfig, dict(d_model=10, nhead=4), "nhead: d_model=10 must be divisible by nhead=4"),
    (EncoderConfig, dict(dropout=1.0), "dropout: expected a probability in [0, 1), got 1.0"),
    (EncoderConfig, dict(num_layers=0), "num_layers: expected a positive integer, got 0"),
    (EncoderConfig, dict(activation="tanh"),
     "activation: expected 'relu', 'gelu' or 'gelu_tanh', got 'tanh'"),
    (TransformerConfig, dict(positional="alibi"), "positional: expected 'sinusoidal', 'learned' or 'rope'"),
    (TransformerConfig, dict(src_vocab_size=5, tgt_vocab_size=6, tie_embeddings=True),
     "tie_embeddings: needs src_vocab_size == tgt_vocab_size"),
], ids=["heads", "dropout", "layers", "activation", "positional", "tie"])
def test_invalid_config_values(cls, kwargs, match):
    """Impossible settings are refused when the config is built, naming the field."""
    with pytest.raises(ValueError, match=re.escape(match)):
        cls(**kwargs)
