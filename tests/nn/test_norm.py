"""Layer normalisation: forward statistics, invariances, parity and the hand-written backward."""

from __future__ import annotations

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from minitransformer import LayerNorm, layer_norm
from tests.strategies import seeds

ex41 = pytest.mark.exercise("4.1")
ex42 = pytest.mark.exercise("4.2")


@st.composite
def feature_rows(draw, max_rows: int = 6, max_d: int = 32) -> torch.Tensor:
    """(rows, D) float64 inputs with a clearly non-zero spread in every row."""
    shape = (draw(st.integers(1, max_rows)), draw(st.integers(2, max_d)))
    x = torch.from_numpy(draw(arrays("float64", shape, elements=st.floats(-50, 50))))
    x[:, 0] += 1.0  # make a constant row unlikely...
    x[:, 1] -= 1.0
    assume(bool((x.std(-1) > 0.1).all()))  # ...and skip the rare one that remains
    return x


def random_affine(d: int, dtype=torch.float64) -> LayerNorm:
    norm = LayerNorm(d).to(dtype)
    with torch.no_grad():
        norm.weight.normal_()
        norm.bias.normal_()
    return norm


@ex41
@given(x=feature_rows())
def test_output_has_zero_mean_unit_variance(x):
    """With γ=1 and β=0 each row comes out with mean 0 and (biased) variance 1 (up to ε)."""
    y = LayerNorm(x.size(-1), eps=0.0).double()(x)
    torch.testing.assert_close(y.mean(-1), torch.zeros(x.size(0), dtype=x.dtype), atol=1e-9, rtol=0)
    torch.testing.assert_close(y.var(-1, unbiased=False), torch.ones(x.size(0), dtype=x.dtype))


@ex41
@given(x=feature_rows(), a=st.floats(0.1, 100), b=st.floats(-100, 100))
def test_invariant_to_positive_scale_and_shift(x, a, b):
    """LN(a·x + b) == LN(x) for every a > 0 and b (with ε = 0)."""
    norm = random_affine(x.size(-1))
    norm.eps = 0.0
    torch.testing.assert_close(norm(a * x + b), norm(x))


@ex41
@given(x=feature_rows(), seed=seeds)
def test_forward_matches_formula_with_affine(x, seed):
    """y = γ (x − μ)/√(σ² + ε) + β with the biased variance."""
    torch.manual_seed(seed)
    norm = random_affine(x.size(-1))
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    expected = norm.weight * (x - mu) / torch.sqrt(var + norm.eps) + norm.bias
    torch.testing.assert_close(norm(x), expected)


@ex41
def test_constant_row_gives_beta():
    """A constant row has σ² = 0: ε keeps it finite and the output is just β."""
    norm = random_affine(4)
    y = norm(torch.full((1, 4), 3.0, dtype=torch.float64))
    torch.testing.assert_close(y[0], norm.bias.detach())


@ex41
@ex42
@pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-5), (torch.float64, 1e-10)])
@pytest.mark.parametrize("bias", [True, False])
def test_matches_nn_layernorm_forward_and_backward(dtype, tol, bias):
    """Output and gradients w.r.t. x, γ and β equal nn.LayerNorm's on (B, T, D) input."""
    theirs = torch.nn.LayerNorm(16, eps=1e-5, bias=bias).to(dtype)
    with torch.no_grad():
        theirs.weight.normal_()
        if bias:
            theirs.bias.normal_()
    ours = LayerNorm(16, eps=1e-5, bias=bias).to(dtype)
    ours.load_state_dict(theirs.state_dict())
    x = (torch.randn(3, 5, 16, dtype=dtype) * 4 + 2).requires_grad_(True)
    x2 = x.detach().clone().requires_grad_(True)
    g = torch.randn(3, 5, 16, dtype=dtype)
    y_ours, y_theirs = ours(x), theirs(x2)
    torch.testing.assert_close(y_ours, y_theirs, atol=tol, rtol=tol)
    (y_ours * g).sum().backward()
    (y_theirs * g).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, atol=tol, rtol=tol)
    torch.testing.assert_close(ours.weight.grad, theirs.weight.grad, atol=tol, rtol=tol)
    if bias:
        torch.testing.assert_close(ours.bias.grad, theirs.bias.grad, atol=tol, rtol=tol)
    else:
        assert ours.bias is None


@ex42
@pytest.mark.parametrize("shape", [(4, 6), (2, 3, 5)])
@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck(shape, bias):
    """The hand-written backward agrees with finite differences for x, γ and β (float64)."""
    d = shape[-1]
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(d, dtype=torch.float64, requires_grad=True)
    b = torch.randn(d, dtype=torch.float64, requires_grad=True) if bias else None
    inputs = (x, weight, b) if bias else (x, weight)
    assert torch.autograd.gradcheck(lambda *t: layer_norm(*t, eps=1e-5), inputs)


@ex42
@given(x=feature_rows(), seed=seeds)
def test_backward_matches_autograd_of_the_formula(x, seed):
    """∂L/∂x, ∂L/∂γ, ∂L/∂β equal autograd through the plain forward formula."""
    torch.manual_seed(seed)
    d = x.size(-1)
    w, b = torch.randn(d, dtype=x.dtype), torch.randn(d, dtype=x.dtype)
    g = torch.randn_like(x)
    ours = [t.clone().requires_grad_(True) for t in (x, w, b)]
    plain = [t.clone().requires_grad_(True) for t in (x, w, b)]
    (layer_norm(*ours) * g).sum().backward()
    xp, wp, bp = plain
    mu = xp.mean(-1, keepdim=True)
    var = ((xp - mu) ** 2).mean(-1, keepdim=True)
    ((wp * (xp - mu) / torch.sqrt(var + 1e-5) + bp) * g).sum().backward()
    for a, c in zip(ours, plain):
        torch.testing.assert_close(a.grad, c.grad)


def test_wrong_last_dimension_is_rejected():
    """Normalising over D features needs inputs (..., D); the message names x, D and the shape."""
    with pytest.raises(ValueError, match=r"x: expected last dimension d_model=8.*got \(2, 3, 5\)"):
        LayerNorm(8)(torch.randn(2, 3, 5))
