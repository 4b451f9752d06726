"""Weight-for-weight parity with PyTorch's built-in modules through ``interop.from_torch``.

Mask conventions: PyTorch's *boolean* attn_mask means True = blocked, ours True = may attend, so
boolean attention masks are inverted (``~mask``) for our modules. Key-padding masks (True =
padding) and float masks mean the same in both.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from minitransformer.interop import from_torch

DTYPES = pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-5), (torch.float64, 1e-10)],
                                 ids=["f32", "f64"])
MODES = pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
NORM_FIRST = pytest.mark.parametrize("norm_first", [False, True], ids=["post", "pre"])
ACTIVATIONS = pytest.mark.parametrize("activation", ["relu", "gelu"])
MASKED = pytest.mark.parametrize("masked", [False, True], ids=["nomask", "masked"])

D, H, FF, B, T, S = 16, 4, 32, 2, 6, 5


def perturb_(module: nn.Module) -> nn.Module:
    """Random biases and layer-norm γ/β (PyTorch starts them at 0/1, which would hide copy bugs)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if "norm" in name and name.endswith("weight"):
                p.normal_(1.0, 0.3)
            elif name.endswith("bias"):
                p.normal_(0.0, 0.3)
    return module


def prepare(theirs: nn.Module, dtype, train: bool) -> tuple[nn.Module, nn.Module]:
    theirs = perturb_(theirs).to(dtype).train(train)
    ours = from_torch(theirs)
    assert ours.training == train
    return theirs, ours


def padding(lengths, width) -> torch.Tensor:
    """(B, width) bool, True = padding after each length."""
    return torch.arange(width)[None, :] >= torch.tensor(lengths)[:, None]


def as_float(pad: torch.Tensor | None, dtype) -> torch.Tensor | None:
    """The same padding as an additive mask (0 / -inf): PyTorch wants one mask type per call."""
    return None if pad is None else torch.zeros(pad.shape, dtype=dtype).masked_fill(pad, float("-inf"))


def causal_float(t: int, dtype) -> torch.Tensor:
    return nn.Transformer.generate_square_subsequent_mask(t, dtype=dtype)


def assert_parity(run_theirs, run_ours, inputs, tol, compare=None):
    """Outputs and gradients w.r.t. every input agree; ``compare`` selects positions to compare."""
    grads, outs = [], []
    for run in (run_theirs, run_ours):
        leaves = [t.detach().clone().requires_grad_(True) for t in inputs]
        out = run(*leaves)
        g = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
        (out * g).sum().backward()
        outs.append(out.detach())
        grads.append([leaf.grad for leaf in leaves])
    sel = (lambda t: t) if compare is None else compare
    torch.testing.assert_close(sel(outs[1]), sel(outs[0]), atol=tol, rtol=tol)
    for ours_grad, theirs_grad in zip(grads[1], grads[0]):
        torch.testing.assert_close(ours_grad, theirs_grad, atol=tol, rtol=tol)


# --------------------------------------------------------------------------- attention, norm


@DTYPES
@MODES
@pytest.mark.parametrize("mask_kind", ["none", "bool_attn", "float_attn", "padding", "cross"])
def test_multihead_attention_parity(dtype, tol, train, mask_kind):
    """Our MHA built from nn.MultiheadAttention gives the same output, per-head weights and grads."""
    theirs, ours = prepare(nn.MultiheadAttention(D, H, batch_first=True), dtype, train)
    t_k = S if mask_kind == "cross" else T
    q, kv = torch.randn(B, T, D, dtype=dtype), torch.randn(B, t_k, D, dtype=dtype)
    blocked = torch.rand(T, t_k) < 0.4
    blocked[:, 0] = False  # every query keeps a key
    theirs_kw, ours_kw = {}, {}
    if mask_kind == "bool_attn":
        theirs_kw, ours_kw = {"attn_mask": blocked}, {"attn_mask": ~blocked}
    elif mask_kind == "float_attn":
        mask = torch.randn(T, t_k, dtype=dtype).masked_fill(blocked, float("-inf"))
        theirs_kw = ours_kw = {"attn_mask": mask}
    elif mask_kind in ("padding", "cross"):
        theirs_kw = ours_kw = {"key_padding_mask": padding([t_k, 3], t_k)}

    def run_theirs(a, b):
        return theirs(a, b, b, **theirs_kw, need_weights=False)[0]

    def run_ours(a, b):
        return ours(a, b, b, **ours_kw)[0]

    assert_parity(run_theirs, run_ours, [q, kv], tol)
    _, w_theirs = theirs(q, kv, kv, **theirs_kw, average_attn_weights=False)
    _, w_ours = ours(q, kv, kv, **ours_kw, need_weights=True)
    torch.testing.assert_close(w_ours, w_theirs, atol=tol, rtol=tol)


def test_multihead_attention_without_bias():
    """bias=False modules convert too (no biases in any projection)."""
    theirs, ours = prepare(nn.MultiheadAttention(D, H, bias=False, batch_first=True), torch.float64, False)
    assert ours.w_q.bias is None and ours.w_o.bias is None
    x = torch.randn(B, T, D, dtype=torch.float64)
    assert_parity(lambda a: theirs(a, a, a)[0], lambda a: ours(a, a, a)[0], [x], 1e-10)


@DTYPES
@MODES
def test_layer_norm_parity(dtype, tol, train):
    """Our LayerNorm from nn.LayerNorm (custom eps, random γ/β) matches output and gradients."""
    theirs, ours = prepare(nn.LayerNorm(D, eps=1e-6), dtype, train)
    assert ours.eps == 1e-6
    x = torch.randn(B, T, D, dtype=dtype) * 3 + 1
    assert_parity(theirs, ours, [x], tol)


# --------------------------------------------------------------------------- layers


@DTYPES
@MODES
@NORM_FIRST
@ACTIVATIONS
@MASKED
def test_encoder_layer_parity(dtype, tol, train, norm_first, activation, masked):
    """nn.TransformerEncoderLayer and ours agree, with a causal float mask and key padding or none."""
    theirs, ours = prepare(nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, activation=activation,
                                                      batch_first=True, norm_first=norm_first),
                           dtype, train)
    mask = causal_float(T, dtype) if masked else None
    pad = padding([T, 4], T) if masked else None
    assert_parity(lambda x: theirs(x, src_mask=mask, src_key_padding_mask=as_float(pad, dtype)),
                  lambda x: ours(x, mask=mask, key_padding_mask=pad),
                  [torch.randn(B, T, D, dtype=dtype)], tol)


@DTYPES
@MODES
@NORM_FIRST
@ACTIVATIONS
@MASKED
def test_decoder_layer_parity(dtype, tol, train, norm_first, activation, masked):
    """nn.TransformerDecoderLayer and ours agree (our causal flag = PyTorch's square subsequent mask)."""
    theirs, ours = prepare(nn.TransformerDecoderLayer(D, H, FF, dropout=0.0, activation=activation,
                                                      batch_first=True, norm_first=norm_first),
                           dtype, train)
    tgt_mask = causal_float(T, dtype) if masked else None
    tgt_pad = padding([T, 4], T) if masked else None
    mem_pad = padding([S, 2], S) if masked else None

    def run_theirs(y, m):
        return theirs(y, m, tgt_mask=tgt_mask, tgt_key_padding_mask=as_float(tgt_pad, dtype),
                      memory_key_padding_mask=mem_pad)

    def run_ours(y, m):
        return ours(y, m, tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=mem_pad,
                    tgt_is_causal=masked)

    inputs = [torch.randn(B, T, D, dtype=dtype), torch.randn(B, S, D, dtype=dtype)]
    assert_parity(run_theirs, run_ours, inputs, tol)


def test_encoder_layer_without_bias_and_custom_eps():
    """bias=False and a non-default layer_norm_eps are carried over."""
    theirs, ours = prepare(nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, batch_first=True,
                                                      layer_norm_eps=1e-3, bias=False),
                           torch.float64, True)
    assert ours.attn_residual.norm.eps == 1e-3 and ours.feed_forward.linear1.bias is None
    assert_parity(theirs, ours, [torch.randn(B, T, D, dtype=torch.float64)], 1e-10)


# --------------------------------------------------------------------------- stacks


@DTYPES
@MODES
@NORM_FIRST
@pytest.mark.parametrize("final_norm", [False, True], ids=["nofinal", "final"])
@MASKED
def test_encoder_parity(dtype, tol, train, norm_first, final_norm, masked):
    """nn.TransformerEncoder (2 layers, with/without final norm) and our Encoder agree."""
    activation = "gelu" if final_norm else "relu"
    layer = nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, activation=activation,
                                       batch_first=True, norm_first=norm_first)
    norm = nn.LayerNorm(D) if final_norm else None
    theirs, ours = prepare(nn.TransformerEncoder(layer, 2, norm=norm, enable_nested_tensor=False),
                           dtype, train)
    assert (ours.norm is not None) == final_norm
    mask = causal_float(T, dtype) if masked else None
    pad = padding([T, 3], T) if masked else None
    assert_parity(lambda x: theirs(x, mask=mask, src_key_padding_mask=as_float(pad, dtype)),
                  lambda x: ours(x, mask=mask, key_padding_mask=pad),
                  [torch.randn(B, T, D, dtype=dtype)], tol)


@DTYPES
@MODES
@NORM_FIRST
@pytest.mark.parametrize("final_norm", [False, True], ids=["nofinal", "final"])
@MASKED
def test_decoder_parity(dtype, tol, train, norm_first, final_norm, masked):
    """nn.TransformerDecoder (2 layers, with/without final norm) and our Decoder agree."""
    activation = "gelu" if final_norm else "relu"
    layer = nn.TransformerDecoderLayer(D, H, FF, dropout=0.0, activation=activation,
                                       batch_first=True, norm_first=norm_first)
    norm = nn.LayerNorm(D) if final_norm else None
    theirs, ours = prepare(nn.TransformerDecoder(layer, 2, norm=norm), dtype, train)
    tgt_mask = causal_float(T, dtype) if masked else None
    tgt_pad = padding([T, 4], T) if masked else None
    mem_pad = padding([S, 2], S) if masked else None

    def run_theirs(y, m):
        return theirs(y, m, tgt_mask=tgt_mask, tgt_key_padding_mask=as_float(tgt_pad, dtype),
                      memory_key_padding_mask=mem_pad)

    def run_ours(y, m):
        # Our decoder is causal by default; the unmasked comparison switches that off.
        return ours(y, m, tgt_mask=tgt_mask, tgt_key_padding_mask=tgt_pad,
                    memory_key_padding_mask=mem_pad, tgt_is_causal=False)

    inputs = [torch.randn(B, T, D, dtype=dtype), torch.randn(B, S, D, dtype=dtype)]
    assert_parity(run_theirs, run_ours, inputs, tol)


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors:UserWarning")
@pytest.mark.parametrize("nested", [False, True], ids=["dense", "nested"])
def test_encoder_eval_fast_path_matches_on_real_positions(nested):
    """Under no_grad in eval PyTorch may take its fused fast path; real positions still agree."""
    layer = nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, batch_first=True)
    theirs, ours = prepare(nn.TransformerEncoder(layer, 2, enable_nested_tensor=nested),
                           torch.float32, False)
    x, pad = torch.randn(B, T, D), padding([T, 3], T)
    with torch.no_grad():
        out_theirs = theirs(x, src_key_padding_mask=pad)
        out_ours = ours(x, key_padding_mask=pad)
    real = ~pad
    torch.testing.assert_close(out_ours[real], out_theirs[real], atol=1e-5, rtol=1e-5)


# --------------------------------------------------------------------------- unsupported input


def test_tanh_approximate_gelu_is_not_silently_swapped():
    """A layer using tanh-approximate GELU must either convert exactly or be refused."""
    theirs = nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, batch_first=True,
                                        activation=nn.GELU(approximate="tanh")).double().eval()
    try:
        ours = from_torch(theirs)
    except ValueError as err:
        assert "activation" in str(err)
        return
    x = torch.randn(B, T, D, dtype=torch.float64) * 3
    torch.testing.assert_close(ours(x), theirs(x), atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("module, error, match", [
    (nn.TransformerEncoderLayer(D, H, FF, batch_first=False), ValueError, "batch_first=True"),
    (nn.TransformerDecoderLayer(D, H, FF, batch_first=False), ValueError, "batch_first=True"),
    (nn.Linear(D, D), TypeError, "module: expected nn.MultiheadAttention.*got Linear"),
    (nn.TransformerEncoderLayer(D, H, FF, batch_first=True, activation=torch.tanh), ValueError,
     "module: activation .* is not supported"),
    (nn.MultiheadAttention(D, H, add_bias_kv=True, batch_first=True), ValueError, "add_bias_kv"),
    (nn.MultiheadAttention(D, H, kdim=8, vdim=8, batch_first=True), ValueError, "kdim/vdim"),
    (nn.LayerNorm(D, elementwise_affine=False), ValueError, "affine"),
    (nn.LayerNorm((T, D)), ValueError, "last dimension"),
], ids=["enc-batch-first", "dec-batch-first", "linear", "tanh", "bias-kv", "kdim", "no-affine",
        "2d-norm"])
def test_unsupported_modules_raise_clear_errors(module, error, match):
    """Modules we cannot reproduce exactly are refused with a message saying why."""
    with pytest.raises(error, match=match):
        from_torch(module)
