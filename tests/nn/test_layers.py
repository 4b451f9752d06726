"""Feed-forward, residual connections, encoder/decoder layers and stacks, and the full model.

Exercises 4.3 (feed-forward), 4.4 (residual), 4.5 (encoder layer), 4.6 (decoder layer), 5.1 (cache).
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from minitransformer import (
    Decoder,
    DecoderLayer,
    Encoder,
    EncoderLayer,
    FeedForward,
    ResidualConnection,
    Transformer,
)
from tests.strategies import padding_masks, seeds

ex43 = pytest.mark.exercise("4.3")
ex44 = pytest.mark.exercise("4.4")
ex45 = pytest.mark.exercise("4.5")
ex46 = pytest.mark.exercise("4.6")
ex51 = pytest.mark.exercise("5.1")

D, H, FF = 16, 4, 32
norm_first_both = pytest.mark.parametrize("norm_first", [False, True], ids=["post", "pre"])


def randn(*shape) -> torch.Tensor:
    return torch.randn(*shape, dtype=torch.float64)


def perturb_norms_(module: torch.nn.Module) -> torch.nn.Module:
    """Give every bias and layer-norm γ/β random values so that no term can hide behind 0 or 1."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("bias") or name.endswith("norm.weight"):
                p.normal_(mean=1.0 if name.endswith("weight") else 0.0, std=0.5)
    return module


def encoder_layer(norm_first: bool, **kw) -> EncoderLayer:
    layer = EncoderLayer(D, H, FF, dropout=0.0, norm_first=norm_first, **kw)
    return perturb_norms_(layer).double()


def decoder_layer(norm_first: bool, **kw) -> DecoderLayer:
    layer = DecoderLayer(D, H, FF, dropout=0.0, norm_first=norm_first, **kw)
    return perturb_norms_(layer).double()


def ln(x, norm):
    """PyTorch's layer norm with our module's parameters (an independent oracle)."""
    return F.layer_norm(x, (x.size(-1),), norm.weight, norm.bias, norm.eps)


# --------------------------------------------------------------------------- feed-forward


@ex43
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_feed_forward_matches_formula(activation):
    """FFN(x) = W₂ act(W₁ x + b₁) + b₂ with ReLU or exact (erf) GELU."""
    ff = FeedForward(8, 24, activation=activation).double()
    x = randn(2, 5, 8)
    h = x @ ff.linear1.weight.T + ff.linear1.bias
    h = h.clamp_min(0) if activation == "relu" else 0.5 * h * (1 + torch.erf(h / math.sqrt(2)))
    torch.testing.assert_close(ff(x), h @ ff.linear2.weight.T + ff.linear2.bias)


@ex43
@given(t=st.integers(1, 8), seed=seeds)
def test_feed_forward_is_position_wise(t, seed):
    """Each position is transformed on its own: out[:, i] == FFN(x[:, i])."""
    torch.manual_seed(seed)
    ff = FeedForward(8, 16, activation="gelu").double()
    x = randn(2, t, 8)
    out = ff(x)
    for i in range(t):
        torch.testing.assert_close(out[:, i : i + 1], ff(x[:, i : i + 1]))


@ex43
def test_feed_forward_dropout_only_in_training():
    """Dropout acts on the hidden layer in train mode and is the identity in eval mode."""
    ff = FeedForward(8, 64, dropout=0.5).double()
    x = randn(4, 6, 8)
    expected = ff.linear2(F.relu(ff.linear1(x)))
    torch.testing.assert_close(ff.eval()(x), expected)
    assert not torch.allclose(ff.train()(x), expected)


def test_feed_forward_rejects_unknown_activation():
    """An unknown activation name is an error that lists the valid ones."""
    expected = r"activation: expected one of \['gelu', 'gelu_tanh', 'relu'\], got 'tanh'"
    with pytest.raises(ValueError, match=expected):
        FeedForward(8, 16, activation="tanh")


# --------------------------------------------------------------------------- residual


@ex44
@norm_first_both
def test_residual_connection_formula(norm_first):
    """post-norm: LN(x + f(x)); pre-norm: x + f(LN(x))."""
    res = perturb_norms_(ResidualConnection(8, norm_first=norm_first)).double()
    sub = torch.nn.Linear(8, 8).double()
    x = randn(2, 5, 8)
    expected = x + sub(ln(x, res.norm)) if norm_first else ln(x + sub(x), res.norm)
    torch.testing.assert_close(res(x, sub), expected)


@ex44
@norm_first_both
def test_residual_dropout_applies_to_the_sublayer_only(norm_first):
    """With dropout p=1 the sub-layer is dropped entirely: post-norm gives LN(x), pre-norm gives x."""
    res = perturb_norms_(ResidualConnection(8, dropout=1.0, norm_first=norm_first)).double().train()
    x = randn(2, 5, 8)
    out = res(x, lambda h: h * 100 + 7)
    torch.testing.assert_close(out, x if norm_first else ln(x, res.norm))


# --------------------------------------------------------------------------- encoder layer


@ex45
@norm_first_both
def test_encoder_layer_equals_composition(norm_first):
    """EncoderLayer = Residual(FFN) ∘ Residual(SelfAttention), masks passed to attention."""
    layer = encoder_layer(norm_first)
    x = randn(2, 6, D)
    pad = torch.tensor([[False] * 6, [False] * 4 + [True] * 2])

    def attend(h):
        return layer.self_attn(h, h, h, key_padding_mask=pad, is_causal=True)[0]

    n1, n2 = layer.attn_residual.norm, layer.ff_residual.norm
    if norm_first:
        h = x + attend(ln(x, n1))
        expected = h + layer.feed_forward(ln(h, n2))
    else:
        h = ln(x + attend(x), n1)
        expected = ln(h + layer.feed_forward(h), n2)
    torch.testing.assert_close(layer(x, key_padding_mask=pad, is_causal=True), expected)


@ex45
@given(norm_first=st.booleans(), b=st.integers(1, 3), t=st.integers(1, 8), data=st.data(), seed=seeds)
def test_encoder_layer_padding_invariance(norm_first, b, t, data, seed):
    """Real positions ignore the content of padded positions and any extra padding."""
    torch.manual_seed(seed)
    layer = encoder_layer(norm_first)
    x = randn(b, t, D)
    pad = data.draw(padding_masks(b, t))
    out = layer(x, key_padding_mask=pad)
    x2 = torch.where(pad[..., None], randn(b, t, D) * 50, x)
    x2 = torch.cat([x2, randn(b, 2, D)], dim=1)
    pad2 = torch.cat([pad, torch.ones(b, 2, dtype=torch.bool)], dim=1)
    out2 = layer(x2, key_padding_mask=pad2)[:, :t]
    torch.testing.assert_close(out2[~pad], out[~pad])


@ex45
@norm_first_both
def test_encoder_layer_causal_and_weights(norm_first):
    """With is_causal, later tokens cannot change earlier outputs; weights are (B, H, T, T)."""
    layer = encoder_layer(norm_first)
    x = randn(2, 6, D)
    x2 = x.clone()
    x2[:, 3:] = randn(2, 3, D)
    out, weights = layer(x, is_causal=True, need_weights=True)
    torch.testing.assert_close(layer(x2, is_causal=True)[:, :3], out[:, :3])
    assert weights.shape == (2, H, 6, 6)
    assert torch.all(weights.triu(diagonal=1) == 0)


@ex45
@norm_first_both
def test_encoder_layer_gradcheck(norm_first):
    """Gradients through a whole encoder layer (float64, no dropout) match finite differences."""
    layer = EncoderLayer(8, 2, 12, dropout=0.0, norm_first=norm_first).double()
    x = randn(2, 3, 8).requires_grad_(True)
    pad = torch.tensor([[False, False, False], [False, False, True]])
    assert torch.autograd.gradcheck(lambda t: layer(t, key_padding_mask=pad), (x,))


@ex45
@pytest.mark.parametrize("norm_first, final_norm", [(False, None), (True, None), (False, True)])
def test_encoder_stack_is_layers_then_optional_norm(norm_first, final_norm):
    """Encoder = [LayerNorm] ∘ layer_N ∘ … ∘ layer_1; final_norm defaults to norm_first."""
    enc = perturb_norms_(Encoder(D, H, 2, FF, dropout=0.0, norm_first=norm_first,
                                 final_norm=final_norm)).double()
    assert (enc.norm is not None) == (norm_first if final_norm is None else final_norm)
    x = randn(2, 5, D)
    h = x
    for layer in enc.layers:
        h = layer(h)
    if enc.norm is not None:
        h = ln(h, enc.norm)
    torch.testing.assert_close(enc(x), h)


@ex51
@pytest.mark.parametrize("rotary", [False, True], ids=["abs", "rope"])
def test_causal_encoder_with_cache_equals_full_forward(rotary):
    """A decoder-only (is_causal) Encoder decoded token by token with caches equals one full pass."""
    enc = perturb_norms_(Encoder(D, H, 2, FF, dropout=0.0, norm_first=True, rotary=rotary)).double()
    x = randn(2, 6, D)
    full = enc(x, is_causal=True)
    cache = enc.new_cache()
    steps = [enc(x[:, t : t + 1], is_causal=True, cache=cache) for t in range(6)]
    torch.testing.assert_close(torch.cat(steps, dim=1), full)


# --------------------------------------------------------------------------- decoder layer


@ex46
@norm_first_both
def test_decoder_layer_equals_composition(norm_first):
    """DecoderLayer = Residual(FFN) ∘ Residual(CrossAttn(memory)) ∘ Residual(causal SelfAttn)."""
    layer = decoder_layer(norm_first)
    y, memory = randn(2, 5, D), randn(2, 7, D)
    mem_pad = torch.tensor([[False] * 7, [False] * 3 + [True] * 4])

    def self_attn(h):
        return layer.self_attn(h, h, h, is_causal=True)[0]

    def cross_attn(h):
        return layer.cross_attn(h, memory, memory, key_padding_mask=mem_pad)[0]

    n1 = layer.self_attn_residual.norm
    n2, n3 = layer.cross_attn_residual.norm, layer.ff_residual.norm
    if norm_first:
        h = y + self_attn(ln(y, n1))
        h = h + cross_attn(ln(h, n2))
        expected = h + layer.feed_forward(ln(h, n3))
    else:
        h = ln(y + self_attn(y), n1)
        h = ln(h + cross_attn(h), n2)
        expected = ln(h + layer.feed_forward(h), n3)
    torch.testing.assert_close(layer(y, memory, memory_key_padding_mask=mem_pad), expected)


@ex46
@given(norm_first=st.booleans(), t=st.integers(2, 8), data=st.data(), seed=seeds)
def test_decoder_layer_is_causal_by_default(norm_first, t, data, seed):
    """Changing target tokens after position p leaves the outputs at positions 0..p unchanged."""
    torch.manual_seed(seed)
    layer = decoder_layer(norm_first)
    y, memory = randn(2, t, D), randn(2, 4, D)
    p = data.draw(st.integers(0, t - 2))
    y2 = y.clone()
    y2[:, p + 1 :] = randn(2, t - p - 1, D) * 10
    torch.testing.assert_close(layer(y2, memory)[:, : p + 1], layer(y, memory)[:, : p + 1])


@ex46
@given(norm_first=st.booleans(), b=st.integers(1, 3), s=st.integers(1, 8), data=st.data(), seed=seeds)
def test_decoder_layer_ignores_padded_memory_and_padded_targets(norm_first, b, s, data, seed):
    """Padded source positions and padded target positions cannot influence real targets."""
    torch.manual_seed(seed)
    layer = decoder_layer(norm_first)
    t = 5
    y, memory = randn(b, t, D), randn(b, s, D)
    mem_pad, tgt_pad = data.draw(padding_masks(b, s)), data.draw(padding_masks(b, t))
    out = layer(y, memory, tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=mem_pad)
    memory2 = torch.where(mem_pad[..., None], randn(b, s, D) * 50, memory)
    y2 = torch.where(tgt_pad[..., None], randn(b, t, D) * 50, y)
    out2 = layer(y2, memory2, tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=mem_pad)
    torch.testing.assert_close(out2[~tgt_pad], out[~tgt_pad])


@ex46
def test_decoder_layer_weights():
    """need_weights gives causal self-attention (B, H, T, T) and cross-attention (B, H, T, S) maps."""
    layer = decoder_layer(False)
    out, (self_w, cross_w) = layer(randn(2, 5, D), randn(2, 7, D), need_weights=True)
    assert out.shape == (2, 5, D)
    assert self_w.shape == (2, H, 5, 5) and cross_w.shape == (2, H, 5, 7)
    assert torch.all(self_w.triu(diagonal=1) == 0)


@ex46
@norm_first_both
def test_decoder_layer_gradcheck(norm_first):
    """Gradients w.r.t. target and memory through a decoder layer match finite differences."""
    layer = DecoderLayer(8, 2, 12, dropout=0.0, norm_first=norm_first).double()
    y = randn(2, 3, 8).requires_grad_(True)
    memory = randn(2, 4, 8).requires_grad_(True)
    mem_pad = torch.tensor([[False] * 4, [False, False, True, True]])
    assert torch.autograd.gradcheck(
        lambda a, m: layer(a, m, memory_key_padding_mask=mem_pad), (y, memory)
    )


@ex51
@pytest.mark.parametrize("rotary", [False, True], ids=["abs", "rope"])
@norm_first_both
def test_decoder_with_cache_equals_full_forward(rotary, norm_first):
    """Decoding one token at a time with a DecoderCache reproduces the teacher-forced pass."""
    from minitransformer import DecoderCache

    dec = perturb_norms_(Decoder(D, H, 2, FF, dropout=0.0, norm_first=norm_first, rotary=rotary)).double()
    y, memory = randn(2, 6, D), randn(2, 4, D)
    mem_pad = torch.tensor([[False] * 4, [False, False, True, True]])
    full = dec(y, memory, memory_key_padding_mask=mem_pad)
    cache = DecoderCache(2)
    steps = [dec(y[:, t : t + 1], memory, memory_key_padding_mask=mem_pad, cache=cache)
             for t in range(6)]
    assert len(cache) == 6
    torch.testing.assert_close(torch.cat(steps, dim=1), full)


# --------------------------------------------------------------------------- full model


def small_transformer(**options) -> Transformer:
    options = dict(d_model=D, nhead=H, num_encoder_layers=2, num_decoder_layers=2,
                   dim_feedforward=FF, dropout=0.0, max_len=16) | options
    return Transformer(11, 11, **options).double().eval()


def ids(b: int, t: int, low: int = 3) -> torch.Tensor:
    return torch.randint(low, 11, (b, t))


def test_transformer_forward_shapes_and_weights():
    """forward gives logits (B, T, V_tgt) and, with need_weights, one map per layer and kind."""
    model = small_transformer()
    src, tgt = ids(2, 7), ids(2, 5)
    logits = model(src, tgt)
    assert logits.shape == (2, 5, 11)
    logits2, weights = model(src, tgt, need_weights=True)
    torch.testing.assert_close(logits2, logits)
    assert set(weights) == {"encoder", "decoder_self", "decoder_cross"}
    expected = {"encoder": (2, H, 7, 7), "decoder_self": (2, H, 5, 5), "decoder_cross": (2, H, 5, 7)}
    for kind, shape in expected.items():
        assert len(weights[kind]) == 2
        assert all(w.shape == shape for w in weights[kind])


@ex51
@pytest.mark.parametrize("positional", ["sinusoidal", "learned", "rope"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post", "pre"])
def test_transformer_encode_then_cached_decode_equals_forward(positional, norm_first):
    """encode once + decode step by step with a cache gives forward's logits (eval mode)."""
    model = small_transformer(positional=positional, norm_first=norm_first)
    src, tgt = ids(2, 7), ids(2, 5)
    src_pad = torch.tensor([[False] * 7, [False] * 4 + [True] * 3])
    src = src.masked_fill(src_pad, 0)
    full = model(src, tgt, src_padding_mask=src_pad)
    memory = model.encode(src, src_padding_mask=src_pad)
    cache = model.new_cache()
    steps = [model.decode(tgt[:, t : t + 1], memory, memory_key_padding_mask=src_pad, cache=cache)
             for t in range(5)]
    torch.testing.assert_close(torch.cat(steps, dim=1), full)


def test_transformer_logits_are_causal_in_the_target():
    """Logits at position t do not depend on target tokens after t (teacher forcing is safe)."""
    model = small_transformer()
    src, tgt = ids(2, 6), ids(2, 5)
    tgt2 = tgt.clone()
    tgt2[:, 3:] = ids(2, 2)
    torch.testing.assert_close(model(src, tgt2)[:, :3], model(src, tgt)[:, :3])


def test_transformer_tie_embeddings_shares_one_matrix():
    """With tie_embeddings the source, target and output matrices are the same parameter."""
    model = small_transformer(tie_embeddings=True)
    shared = model.src_embedding.weight
    assert model.tgt_embedding.weight is shared and model.output_projection.weight is shared


@pytest.mark.parametrize("norm_first", [False, True])
def test_sdpa_fast_path_computes_the_same_encoder_and_decoder(norm_first):
    """attention_backend="sdpa" (fused attention, fused QKV, fused layer norm) matches the
    hand-written path: same outputs and same input gradients."""
    from minitransformer import Decoder, Encoder, set_attention_backend

    torch.manual_seed(0)
    for stack in (Encoder(16, 4, 2, 32, dropout=0.0, norm_first=norm_first),
                  Decoder(16, 4, 2, 32, dropout=0.0, norm_first=norm_first)):
        x = torch.randn(3, 5, 16, requires_grad=True)
        memory = torch.randn(3, 4, 16)
        pad = torch.tensor([[False] * 5, [False] * 3 + [True] * 2, [False] * 5])

        def run(model, x, memory, pad):
            if isinstance(model, Encoder):
                return model(x, key_padding_mask=pad)
            return model(x, memory, tgt_key_padding_mask=pad)

        manual_out = run(stack, x, memory, pad)
        (manual_grad,) = torch.autograd.grad(manual_out.sum(), x)
        set_attention_backend(stack, "sdpa")
        fused_out = run(stack, x, memory, pad)
        (fused_grad,) = torch.autograd.grad(fused_out.sum(), x)
        torch.testing.assert_close(fused_out, manual_out, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(fused_grad, manual_grad, atol=1e-5, rtol=1e-5)
