"""Softmax and scaled dot-product attention (exercises 1.1 and 1.2)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from minitransformer import scaled_dot_product_attention, softmax
from minitransformer.interop import numpy_reference as reference
from tests.strategies import attention_shapes, bool_masks, mask_shapes, score_matrices, seeds

ex11 = pytest.mark.exercise("1.1")
ex12 = pytest.mark.exercise("1.2")


def _qkv(shape, dtype=torch.float64, requires_grad=False):
    q = torch.randn(shape.batch, shape.heads, shape.t_q, shape.d, dtype=dtype)
    k = torch.randn(shape.batch, shape.heads, shape.t_k, shape.d, dtype=dtype)
    v = torch.randn(shape.batch, shape.heads, shape.t_k, shape.d_v, dtype=dtype)
    return [t.requires_grad_(requires_grad) for t in (q, k, v)]


# --------------------------------------------------------------------------- softmax


@ex11
@given(x=score_matrices())
def test_softmax_rows_are_probabilities(x):
    """Every row is non-negative and sums to 1."""
    y = softmax(x, dim=-1)
    assert (y >= 0).all()
    torch.testing.assert_close(y.sum(-1), torch.ones(x.size(0), dtype=x.dtype))


@ex11
@given(x=score_matrices(), shift=st.lists(st.floats(-100, 100), min_size=6, max_size=6))
def test_softmax_invariant_to_per_row_constant(x, shift):
    """softmax(x + c_row) == softmax(x): adding a constant to a whole row changes nothing."""
    c = torch.tensor(shift[: x.size(0)], dtype=x.dtype).unsqueeze(1)
    torch.testing.assert_close(softmax(x + c), softmax(x), atol=1e-12, rtol=1e-9)


@ex11
@given(x=score_matrices(), dim=st.sampled_from([0, 1, -1, -2]))
def test_softmax_matches_torch_along_any_dim(x, dim):
    """Our softmax equals torch.softmax along the requested dimension."""
    torch.testing.assert_close(softmax(x, dim=dim), torch.softmax(x, dim=dim))


@ex11
@given(x=score_matrices(), seed=seeds)
def test_softmax_backward_matches_torch(x, seed):
    """The hand-written backward gives the same input gradient as autograd through torch.softmax."""
    torch.manual_seed(seed)
    g = torch.randn_like(x)
    ours = x.clone().requires_grad_(True)
    theirs = x.clone().requires_grad_(True)
    (softmax(ours) * g).sum().backward()
    (torch.softmax(theirs, -1) * g).sum().backward()
    torch.testing.assert_close(ours.grad, theirs.grad)


@ex11
def test_softmax_fully_masked_row_gives_zeros_and_finite_grads():
    """A row of all -inf gives a row of zeros (not NaN) and a finite, zero gradient."""
    x = torch.tensor([[0.5, -1.0, 2.0], [-math.inf, -math.inf, -math.inf]], requires_grad=True)
    y = softmax(x)
    assert torch.equal(y[1], torch.zeros(3))
    torch.testing.assert_close(y[0], torch.softmax(x[0].detach(), -1))
    (y * torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum().backward()
    assert torch.isfinite(x.grad).all()
    assert torch.equal(x.grad[1], torch.zeros(3))


@ex11
def test_softmax_partially_masked_row_ignores_minus_inf():
    """-inf entries get exactly zero probability; the rest is the softmax of the finite entries."""
    x = torch.tensor([1.0, -math.inf, 3.0, -math.inf])
    y = softmax(x)
    assert y[1] == 0 and y[3] == 0
    torch.testing.assert_close(y[[0, 2]], torch.softmax(torch.tensor([1.0, 3.0]), -1))


@ex11
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_softmax_large_inputs_do_not_overflow(dtype):
    """Scores of ±1e4 (exp overflows without the max trick) still give exact, finite results."""
    x = torch.tensor([[1e4, 1e4 - 1.0, -1e4], [-1e4, -1e4, -1e4], [1e4, 0.0, 1e4]], dtype=dtype)
    y = softmax(x)
    assert torch.isfinite(y).all()
    torch.testing.assert_close(y, torch.softmax(x, -1))
    torch.testing.assert_close(y[1], torch.full((3,), 1 / 3, dtype=dtype))


@ex11
@pytest.mark.parametrize("dim", [0, 1, 2])
def test_softmax_gradcheck(dim):
    """Analytical and finite-difference gradients of softmax agree (float64)."""
    x = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: softmax(t, dim=dim), (x,))
    assert torch.autograd.gradgradcheck(lambda t: softmax(t, dim=dim), (x,))


# --------------------------------------------------------------------------- attention


@ex12
@pytest.mark.parametrize("mask_kind", ["none", "bool", "float", "fully_masked_row"])
def test_sdpa_gradcheck(mask_kind):
    """Gradients of the output w.r.t. q, k and v agree with finite differences (float64)."""
    q = torch.randn(2, 2, 3, 4, dtype=torch.float64, requires_grad=True)
    k = torch.randn(2, 2, 5, 4, dtype=torch.float64, requires_grad=True)
    v = torch.randn(2, 2, 5, 3, dtype=torch.float64, requires_grad=True)
    mask = None
    if mask_kind != "none":
        mask = torch.rand(3, 5) < 0.6
        mask[:, 0] = True
        if mask_kind == "fully_masked_row":
            mask[1] = False
        if mask_kind == "float":
            mask = torch.zeros(3, 5, dtype=torch.float64).masked_fill(~mask, -math.inf)
            mask = mask + torch.randn(3, 5, dtype=torch.float64)  # arbitrary additive bias

    def out(q, k, v):
        return scaled_dot_product_attention(q, k, v, mask)[0]

    assert torch.autograd.gradcheck(out, (q, k, v))


@ex12
@given(shape=attention_shapes(), data=st.data(), seed=seeds)
def test_sdpa_matches_torch_with_bool_masks(shape, data, seed):
    """Output equals F.scaled_dot_product_attention for bool masks of every broadcastable shape."""
    torch.manual_seed(seed)
    q, k, v = _qkv(shape)
    mask_shape = data.draw(mask_shapes(shape.batch, shape.heads, shape.t_q, shape.t_k))
    mask = data.draw(bool_masks(mask_shape))
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))
    assert weights.shape == (shape.batch, shape.heads, shape.t_q, shape.t_k)


@ex12
@given(shape=attention_shapes(), data=st.data(), seed=seeds)
def test_sdpa_matches_torch_with_float_masks(shape, data, seed):
    """An additive float mask (0 / -inf plus arbitrary biases) gives what PyTorch gives."""
    torch.manual_seed(seed)
    q, k, v = _qkv(shape)
    mask_shape = data.draw(mask_shapes(shape.batch, shape.heads, shape.t_q, shape.t_k))
    keep = data.draw(bool_masks(mask_shape))
    mask = torch.randn(mask_shape, dtype=torch.float64).masked_fill(~keep, -math.inf)
    out, _ = scaled_dot_product_attention(q, k, v, mask)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))


@ex12
@given(shape=attention_shapes(), seed=seeds)
def test_sdpa_matches_torch_without_mask(shape, seed):
    """Without a mask the output equals PyTorch's, and gradients agree too."""
    torch.manual_seed(seed)
    ours = _qkv(shape, requires_grad=True)
    theirs = [t.detach().clone().requires_grad_(True) for t in ours]
    out = scaled_dot_product_attention(*ours)[0]
    ref = F.scaled_dot_product_attention(*theirs)
    torch.testing.assert_close(out, ref)
    g = torch.randn_like(out)
    (out * g).sum().backward()
    (ref * g).sum().backward()
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a.grad, b.grad)


@ex12
@given(shape=attention_shapes(), data=st.data(), seed=seeds)
def test_sdpa_masked_keys_get_exactly_zero_weight(shape, data, seed):
    """Weights are exactly 0 on masked pairs, and the values of masked keys cannot leak out."""
    torch.manual_seed(seed)
    q, k, v = _qkv(shape)
    mask = data.draw(bool_masks((shape.batch, 1, shape.t_q, shape.t_k)))
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    assert torch.all(weights.masked_select(~mask.expand_as(weights)) == 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones_like(weights.sum(-1)))
    # Changing a key/value that no query may see leaves the output unchanged.
    never_seen = ~mask.any(dim=-2, keepdim=True).transpose(-1, -2)  # (B, 1, T_k, 1)
    k2 = torch.where(never_seen, torch.randn_like(k) * 100, k)
    v2 = torch.where(never_seen, torch.randn_like(v) * 100, v)
    out2, _ = scaled_dot_product_attention(q, k2, v2, mask)
    torch.testing.assert_close(out2, out)


@ex12
@given(shape=attention_shapes(), data=st.data(), seed=seeds, as_float=st.booleans())
def test_sdpa_fully_masked_rows_give_zeros_and_finite_grads(shape, data, seed, as_float):
    """Rows with no allowed key give zero weights, a zero output and finite (zero) gradients."""
    torch.manual_seed(seed)
    q, k, v = _qkv(shape, requires_grad=True)
    keep = data.draw(bool_masks((shape.batch, shape.heads, shape.t_q, shape.t_k), allow_empty_rows=True))
    empty_row = data.draw(st.integers(0, shape.t_q - 1))
    keep[..., empty_row, :] = False
    mask = keep if not as_float else torch.zeros(keep.shape, dtype=q.dtype).masked_fill(~keep, -math.inf)
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    empty = ~keep.any(-1)  # (B, H, T_q)
    assert torch.equal(weights[empty], torch.zeros_like(weights[empty]))
    assert torch.equal(out[empty], torch.zeros_like(out[empty]))
    assert not torch.isnan(out).any()
    (out * torch.randn_like(out)).sum().backward()
    for t in (q, k, v):
        assert torch.isfinite(t.grad).all()
    assert torch.equal(q.grad[empty], torch.zeros_like(q.grad[empty]))


@ex12
@given(shape=attention_shapes(), data=st.data(), seed=seeds)
def test_sdpa_matches_numpy_reference(shape, data, seed):
    """Output and weights equal the NumPy reference, fully masked rows included (float64)."""
    torch.manual_seed(seed)
    q, k, v = _qkv(shape)
    mask = data.draw(bool_masks((shape.batch, shape.heads, shape.t_q, shape.t_k), allow_empty_rows=True))
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    ref_out, ref_weights = reference.attention(q.numpy(), k.numpy(), v.numpy(), mask.numpy())
    torch.testing.assert_close(out, torch.from_numpy(ref_out))
    torch.testing.assert_close(weights, torch.from_numpy(ref_weights))


@ex12
def test_sdpa_scales_scores_by_sqrt_d():
    """With one query and two keys, the weights are softmax(q·k / √d) computed by hand."""
    q = torch.tensor([[1.0, 2.0, 0.0, 1.0]])
    k = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 1.0, 1.0]])
    v = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    out, weights = scaled_dot_product_attention(q, k, v)
    expected = torch.softmax(torch.tensor([1.0, 3.0]) / 2.0, -1)
    torch.testing.assert_close(weights[0], expected)
    torch.testing.assert_close(out[0], expected)


@ex12
def test_sdpa_dropout_returns_weights_before_dropout():
    """With dropout the returned weights are still the softmax; only the output is perturbed."""
    q, k, v = (torch.randn(1, 2, 6, 4) for _ in range(3))
    out0, w0 = scaled_dot_product_attention(q, k, v)
    out1, w1 = scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    torch.testing.assert_close(w1, w0)
    assert not torch.allclose(out1, out0)
