"""A NumPy forward pass of the core, written to be read: no autograd, no batching tricks.

Each function is the equation in its docstring and little else. The tests use this module as a
second oracle beside PyTorch: take the weights out of one of our modules with
:func:`encoder_layer_params` (or by hand), run both, compare.

Shapes follow the package: ``x`` ``(B, T, D)``, heads ``(B, H, T, Dh)``, masks True = may attend.
"""

from __future__ import annotations

import numpy as np

__all__ = ["softmax", "attention", "multi_head_attention", "layer_norm", "feed_forward",
           "encoder_layer", "attention_params", "encoder_layer_params"]


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(x − max) / Σ exp(x − max); a row of all −inf gives zeros."""
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(x - m)
    s = np.sum(e, axis=axis, keepdims=True)
    return e / np.where(s == 0.0, 1.0, s)


def attention(q, k, v, mask=None):
    """softmax(Q Kᵀ / √d_k) V with ``mask`` True = may attend. Returns (out, weights)."""
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    weights = softmax(scores)
    return weights @ v, weights


def multi_head_attention(query, key, value, params: dict, nhead: int, mask=None):
    """Concat_h(Attention(X_q W_q^h, X_k W_k^h, X_v W_v^h)) W_o.

    ``params`` holds ``w_q, w_k, w_v, w_o`` ``(D, D)`` in PyTorch's (out, in) layout and the
    biases ``b_q, b_k, b_v, b_o`` ``(D,)``.
    """
    batch, t_q, d_model = query.shape
    head_dim = d_model // nhead

    def project(x, name):
        y = x @ params[f"w_{name}"].T + params[f"b_{name}"]  # (B, T, D)
        return y.reshape(batch, -1, nhead, head_dim).transpose(0, 2, 1, 3)  # (B, H, T, Dh)

    q, k, v = project(query, "q"), project(key, "k"), project(value, "v")
    out, weights = attention(q, k, v, mask)  # (B, H, T_q, Dh)
    out = out.transpose(0, 2, 1, 3).reshape(batch, t_q, d_model)  # (B, T_q, D)
    return out @ params["w_o"].T + params["b_o"], weights


def layer_norm(x, gamma, beta, eps: float = 1e-5):
    """γ (x − μ) / √(σ² + ε) + β over the last axis, with the biased variance."""
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return gamma * (x - mu) / np.sqrt(var + eps) + beta


def feed_forward(x, w1, b1, w2, b2, activation: str = "relu"):
    """W₂ act(W₁ x + b₁) + b₂, with (out, in) weight layout."""
    h = x @ w1.T + b1
    if activation == "relu":
        h = np.maximum(h, 0.0)
    else:  # exact GELU: x Φ(x)
        from math import erf, sqrt

        h = h * 0.5 * (1.0 + np.vectorize(erf)(h / sqrt(2.0)))
    return h @ w2.T + b2


def encoder_layer(x, p: dict, nhead: int, norm_first: bool, mask=None, eps: float = 1e-5,
                  activation: str = "relu"):
    """Post-norm: LN(x + MHA(x)), LN(x + FFN(x)).  Pre-norm: x + MHA(LN(x)), x + FFN(LN(x))."""

    def attend(h):
        return multi_head_attention(h, h, h, p["attn"], nhead, mask)[0]

    def ffn(h):
        return feed_forward(h, p["w1"], p["b1"], p["w2"], p["b2"], activation)

    norm1 = lambda h: layer_norm(h, p["ln1_g"], p["ln1_b"], eps)  # noqa: E731
    norm2 = lambda h: layer_norm(h, p["ln2_g"], p["ln2_b"], eps)  # noqa: E731
    if norm_first:
        x = x + attend(norm1(x))
        return x + ffn(norm2(x))
    x = norm1(x + attend(x))
    return norm2(x + ffn(x))


def _np(t) -> np.ndarray:
    return t.detach().cpu().double().numpy()


def attention_params(mha) -> dict:
    """Weights of a :class:`minitransformer.MultiHeadAttention` as NumPy arrays."""
    params = {}
    for name in ("q", "k", "v", "o"):
        linear = getattr(mha, f"w_{name}")
        params[f"w_{name}"] = _np(linear.weight)
        params[f"b_{name}"] = _np(linear.bias) if linear.bias is not None else 0.0
    return params


def encoder_layer_params(layer) -> dict:
    """Weights of a :class:`minitransformer.EncoderLayer` as NumPy arrays."""
    ff = layer.feed_forward
    return {
        "attn": attention_params(layer.self_attn),
        "w1": _np(ff.linear1.weight), "b1": _np(ff.linear1.bias),
        "w2": _np(ff.linear2.weight), "b2": _np(ff.linear2.bias),
        "ln1_g": _np(layer.attn_residual.norm.weight), "ln1_b": _np(layer.attn_residual.norm.bias),
        "ln2_g": _np(layer.ff_residual.norm.weight), "ln2_b": _np(layer.ff_residual.norm.bias),
    }
