"""Tests for the pieces GPT-2 and BERT need in the core: the tanh GELU, CausalLM without the √D
embedding scale, and the BERT-style TextEncoder (token types, post-norm, masked-LM head, pooler)."""

from __future__ import annotations

import json
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from minitransformer import CausalLM, TextEncoder, TextEncoderConfig
from minitransformer.nn.feedforward import FeedForward, gelu_tanh

VOCAB = 40


def _encoder(**options) -> TextEncoder:
    return TextEncoder(VOCAB, d_model=32, nhead=4, num_layers=2, dim_feedforward=64, max_len=24,
                       **options).eval()


# ------------------------------------------------------------------------------------------ GELU
@settings(max_examples=25)
@given(x=st.lists(st.floats(-30, 30, allow_nan=False), min_size=1, max_size=20))
def test_gelu_tanh_is_the_formula(x):
    x = torch.tensor(x, dtype=torch.float64)
    expected = 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    torch.testing.assert_close(gelu_tanh(x), expected, atol=1e-12, rtol=0)


def test_gelu_tanh_differs_from_the_exact_gelu_by_more_than_the_parity_tolerance():
    x = torch.linspace(-6, 6, 10001, dtype=torch.float64)
    gap = (gelu_tanh(x) - torch.nn.functional.gelu(x)).abs().max().item()
    assert 1e-4 < gap < 1e-3  # why a GPT-2 checkpoint must run with its own activation


def test_feed_forward_takes_gelu_tanh_and_refuses_unknown_activations():
    block = FeedForward(8, 16, activation="gelu_tanh")
    x = torch.randn(2, 3, 8)
    torch.testing.assert_close(block(x), block.linear2(gelu_tanh(block.linear1(x))))
    with pytest.raises(ValueError, match="activation"):
        FeedForward(8, 16, activation="swish")


# ------------------------------------------------------------------------------------------ CausalLM
def test_causal_lm_without_the_embedding_scale_adds_raw_embeddings():
    model = CausalLM(VOCAB, 16, 2, 1, 32, dropout=0.0, scale_embeddings=False).eval()
    ids = torch.randint(0, VOCAB, (2, 5))
    expected = model.embedding.weight[ids] + model.positions.embedding.weight[:5]
    seen = {}
    handle = model.encoder.register_forward_pre_hook(lambda module, args: seen.setdefault("x", args[0]))
    model(ids)
    handle.remove()
    torch.testing.assert_close(seen["x"], expected)


def test_causal_lm_keeps_its_default_scale_and_old_configs_load(tmp_path):
    model = CausalLM(VOCAB, 16, 2, 1, 32)
    assert model.config.scale_embeddings is True and model.embedding.scale == 4.0  # √16
    model.save_pretrained(tmp_path / "lm")
    config = json.loads((tmp_path / "lm" / "config.json").read_text())
    del config["scale_embeddings"]  # a model saved before the option existed
    (tmp_path / "lm" / "config.json").write_text(json.dumps(config))
    again = CausalLM.from_pretrained(tmp_path / "lm")
    assert again.config.scale_embeddings is True


# ------------------------------------------------------------------------------------------ TextEncoder
def test_shapes_heads_and_tied_output():
    model = _encoder(pooler=True)
    ids = torch.randint(0, VOCAB, (3, 7))
    hidden = model(ids)
    assert hidden.shape == (3, 7, 32)
    assert model.mlm_logits(hidden).shape == (3, 7, VOCAB)
    assert model.pool(hidden).shape == (3, 32)
    assert model.mlm_head.output.weight is model.embedding.weight
    assert model.encoder.norm is None and not model.encoder.layers[0].attn_residual.norm_first  # post-norm


def test_every_position_sees_every_other():
    model = _encoder()
    ids = torch.randint(0, VOCAB, (1, 6))
    changed = ids.clone()
    changed[0, 5] = (ids[0, 5] + 1) % VOCAB
    assert not torch.allclose(model(ids)[0, 0], model(changed)[0, 0])  # the first token sees the last


def test_token_types_change_the_output_and_default_to_zero():
    model = _encoder()
    ids = torch.randint(0, VOCAB, (2, 6))
    zeros = torch.zeros_like(ids)
    torch.testing.assert_close(model(ids), model(ids, token_type_ids=zeros))
    second = torch.tensor([[0, 0, 0, 1, 1, 1]] * 2)
    assert not torch.allclose(model(ids, token_type_ids=second), model(ids))


@settings(max_examples=15)
@given(lengths=st.lists(st.integers(1, 10), min_size=1, max_size=3), extra=st.integers(1, 5))
def test_padding_does_not_change_the_real_positions(lengths, extra):
    model = _encoder()
    width = max(lengths)
    ids = torch.randint(1, VOCAB, (len(lengths), width + extra))
    padding = torch.arange(width + extra)[None, :] >= torch.tensor(lengths)[:, None]  # (B, T) True = padding
    hidden = model(ids, key_padding_mask=padding)
    for b, n in enumerate(lengths):
        alone = model(ids[b : b + 1, :n])
        torch.testing.assert_close(hidden[b, :n], alone[0], atol=1e-5, rtol=0)


def test_save_and_load_round_trip(tmp_path):
    model = _encoder(pooler=True, type_vocab_size=3)
    model.save_pretrained(tmp_path / "enc")
    again = TextEncoder.from_pretrained(tmp_path / "enc").eval()
    ids, types = torch.randint(0, VOCAB, (2, 5)), torch.randint(0, 3, (2, 5))
    assert torch.equal(again(ids, token_type_ids=types), model(ids, token_type_ids=types))
    assert again.mlm_head.output.weight is again.embedding.weight


def test_bad_input_is_refused_with_the_argument_named():
    model = _encoder(mlm_head=False)
    ids = torch.randint(0, VOCAB, (2, 5))
    with pytest.raises(ValueError, match="token_type_ids: expected shape"):
        model(ids, token_type_ids=torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="token_type_ids: token id 2"):
        model(ids, token_type_ids=torch.full((2, 5), 2))
    with pytest.raises(ValueError, match="mlm_head"):
        model.mlm_logits(model(ids))
    with pytest.raises(ValueError, match="pooler"):
        model.pool(model(ids))
    with pytest.raises(ValueError, match="pad_id"):
        TextEncoderConfig(vocab_size=10, pad_id=10)
    with pytest.raises(ValueError, match="activation"):
        TextEncoderConfig(activation="tanh")
