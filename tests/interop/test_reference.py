"""Our PyTorch modules against the NumPy reference forward pass (float64), a second oracle."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from minitransformer import EncoderLayer, FeedForward, LayerNorm, MultiHeadAttention, softmax
from minitransformer.interop import numpy_reference as reference
from tests.strategies import bool_masks, model_dims, seeds


def perturb_(module: torch.nn.Module) -> torch.nn.Module:
    """Random biases and layer-norm γ/β so that every parameter matters."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("bias") or "norm" in name:
                p.normal_(mean=1.0 if name.endswith("norm.weight") else 0.0, std=0.5)
    return module.double()


def assert_matches_reference(ours: torch.Tensor, ref: np.ndarray) -> None:
    np.testing.assert_allclose(ours.detach().numpy(), ref, rtol=1e-10, atol=1e-12)


@pytest.mark.exercise("1.1")
def test_softmax_matches_reference():
    """Hand-written softmax equals the NumPy one, including a fully -inf row."""
    x = torch.randn(4, 6, dtype=torch.float64) * 20
    x[2] = -float("inf")
    assert_matches_reference(softmax(x), reference.softmax(x.numpy()))


@pytest.mark.exercise("1.2")
@given(dims=model_dims(), t_k=st.integers(1, 8), data=st.data(), seed=seeds)
def test_attention_matches_reference(dims, t_k, data, seed):
    """scaled_dot_product_attention equals reference.attention, fully masked rows included."""
    from minitransformer import scaled_dot_product_attention

    torch.manual_seed(seed)
    q = torch.randn(dims.batch, dims.nhead, dims.length, dims.head_dim, dtype=torch.float64)
    k = torch.randn(dims.batch, dims.nhead, t_k, dims.head_dim, dtype=torch.float64)
    v = torch.randn(dims.batch, dims.nhead, t_k, 3, dtype=torch.float64)
    mask = data.draw(bool_masks((dims.batch, 1, dims.length, t_k), allow_empty_rows=True))
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    ref_out, ref_weights = reference.attention(q.numpy(), k.numpy(), v.numpy(), mask.numpy())
    assert_matches_reference(out, ref_out)
    assert_matches_reference(weights, ref_weights)


@pytest.mark.exercise("2.2")
@given(dims=model_dims(), t_k=st.integers(1, 8), data=st.data(), seed=seeds)
def test_multi_head_attention_matches_reference(dims, t_k, data, seed):
    """MultiHeadAttention equals reference.multi_head_attention with the same weights and mask."""
    torch.manual_seed(seed)
    mha = perturb_(MultiHeadAttention(dims.d_model, dims.nhead))
    query = torch.randn(dims.batch, dims.length, dims.d_model, dtype=torch.float64)
    kv = torch.randn(dims.batch, t_k, dims.d_model, dtype=torch.float64)
    mask = data.draw(bool_masks((dims.batch, 1, dims.length, t_k)))
    out, weights = mha(query, kv, kv, attn_mask=mask, need_weights=True)
    ref_out, ref_weights = reference.multi_head_attention(
        query.numpy(), kv.numpy(), kv.numpy(), reference.attention_params(mha), dims.nhead, mask.numpy()
    )
    assert_matches_reference(out, ref_out)
    assert_matches_reference(weights, ref_weights)


@pytest.mark.exercise("4.1")
@given(d=st.integers(2, 32), seed=seeds)
def test_layer_norm_matches_reference(d, seed):
    """LayerNorm with random γ/β equals reference.layer_norm."""
    torch.manual_seed(seed)
    norm = perturb_(LayerNorm(d))
    x = torch.randn(2, 5, d, dtype=torch.float64) * 5 + 3
    ref = reference.layer_norm(x.numpy(), norm.weight.detach().numpy(), norm.bias.detach().numpy())
    assert_matches_reference(norm(x), ref)


@pytest.mark.exercise("4.3")
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_feed_forward_matches_reference(activation):
    """FeedForward equals reference.feed_forward for ReLU and exact GELU."""
    ff = FeedForward(8, 24, activation=activation).double()
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    p = {n: t.detach().numpy() for n, t in ff.named_parameters()}
    ref = reference.feed_forward(x.numpy(), p["linear1.weight"], p["linear1.bias"],
                                 p["linear2.weight"], p["linear2.bias"], activation)
    assert_matches_reference(ff(x), ref)


@pytest.mark.exercise("4.5")
@pytest.mark.parametrize("norm_first", [False, True], ids=["post", "pre"])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_matches_reference(norm_first, activation):
    """EncoderLayer (pre- and post-norm) equals reference.encoder_layer, with a mask."""
    layer = perturb_(EncoderLayer(16, 4, 32, dropout=0.0, activation=activation, norm_first=norm_first))
    x = torch.randn(2, 6, 16, dtype=torch.float64)
    mask = torch.rand(2, 1, 6, 6) < 0.7
    mask[..., 0] = True
    ref = reference.encoder_layer(x.numpy(), reference.encoder_layer_params(layer), nhead=4,
                                  norm_first=norm_first, mask=mask.numpy(), activation=activation)
    assert_matches_reference(layer(x, mask=mask), ref)
