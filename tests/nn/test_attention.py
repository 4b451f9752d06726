"""Multi-head attention: heads, masks, KV cache, backends and recorded maps (exercises 2.x, 5.1)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from minitransformer import (
    Encoder,
    KVCache,
    MultiHeadAttention,
    merge_heads,
    record_attention,
    split_heads,
)
from tests.strategies import ModelDims, bool_masks, model_dims, padding_masks, seeds

ex21 = pytest.mark.exercise("2.1")
ex22 = pytest.mark.exercise("2.2")
ex51 = pytest.mark.exercise("5.1")


def make_mha(dims: ModelDims, rotary: bool = False, backend: str = "manual") -> MultiHeadAttention:
    """A float64 MHA with non-zero biases (they start at zero, which would hide bias bugs)."""
    mha = MultiHeadAttention(dims.d_model, dims.nhead, rotary=rotary, attention_backend=backend)
    with torch.no_grad():
        for linear in (mha.w_q, mha.w_k, mha.w_v, mha.w_o):
            linear.bias.normal_()
    return mha.double()


def randn(*shape) -> torch.Tensor:
    return torch.randn(*shape, dtype=torch.float64)


def mha_by_hand(mha: MultiHeadAttention, query, key, value, keep=None) -> torch.Tensor:
    """H independent single-head attentions on slices of W_q, W_k, W_v, concatenated, then W_o."""
    dh = mha.head_dim
    heads = []
    for h in range(mha.nhead):
        rows = slice(h * dh, (h + 1) * dh)
        q = query @ mha.w_q.weight[rows].T + mha.w_q.bias[rows]  # (B, T_q, Dh)
        k = key @ mha.w_k.weight[rows].T + mha.w_k.bias[rows]  # (B, T_k, Dh)
        v = value @ mha.w_v.weight[rows].T + mha.w_v.bias[rows]  # (B, T_k, Dh)
        scores = q @ k.transpose(-1, -2) / math.sqrt(dh)
        if keep is not None:
            scores = scores.masked_fill(~keep, -math.inf)
        heads.append(torch.softmax(scores, dim=-1) @ v)
    return torch.cat(heads, dim=-1) @ mha.w_o.weight.T + mha.w_o.bias


# --------------------------------------------------------------------------- heads


@ex21
@given(dims=model_dims(), seed=seeds)
def test_split_heads_layout_and_merge_inverse(dims, seed):
    """split_heads puts features h·Dh…(h+1)·Dh of each position in head h; merge_heads undoes it."""
    torch.manual_seed(seed)
    x = randn(dims.batch, dims.length, dims.d_model)
    heads = split_heads(x, dims.nhead)
    assert heads.shape == (dims.batch, dims.nhead, dims.length, dims.head_dim)
    for h in range(dims.nhead):
        assert torch.equal(heads[:, h], x[..., h * dims.head_dim : (h + 1) * dims.head_dim])
    assert torch.equal(merge_heads(heads), x)


@ex22
@given(dims=model_dims(), t_k=st.integers(1, 8), data=st.data(), seed=seeds)
def test_mha_equals_single_head_attentions_concatenated(dims, t_k, data, seed):
    """MHA = Concat(head_1..head_H) W_o, each head computed alone from its slice of the weights."""
    torch.manual_seed(seed)
    mha = make_mha(dims)
    query = randn(dims.batch, dims.length, dims.d_model)
    key, value = randn(dims.batch, t_k, dims.d_model), randn(dims.batch, t_k, dims.d_model)
    keep = data.draw(bool_masks((dims.length, t_k)))
    out, weights = mha(query, key, value, attn_mask=keep, need_weights=True)
    torch.testing.assert_close(out, mha_by_hand(mha, query, key, value, keep))
    assert weights.shape == (dims.batch, dims.nhead, dims.length, t_k)


@ex22
@given(dims=model_dims(min_len=2), seed=seeds)
def test_self_attention_is_permutation_equivariant(dims, seed):
    """Without positions or masks, permuting the tokens permutes the outputs the same way."""
    torch.manual_seed(seed)
    mha = make_mha(dims)
    x = randn(dims.batch, dims.length, dims.d_model)
    perm = torch.randperm(dims.length)
    out = mha(x, x, x)[0]
    out_perm = mha(x[:, perm], x[:, perm], x[:, perm])[0]
    torch.testing.assert_close(out_perm, out[:, perm])


@ex22
@given(dims=model_dims(), data=st.data(), seed=seeds)
def test_batch_rows_are_independent(dims, data, seed):
    """Each batch row's output is what that row alone would give (masks included)."""
    torch.manual_seed(seed)
    mha = make_mha(dims)
    x = randn(dims.batch, dims.length, dims.d_model)
    pad = data.draw(padding_masks(dims.batch, dims.length))
    out = mha(x, x, x, key_padding_mask=pad, is_causal=True)[0]
    for b in range(dims.batch):
        row = x[b : b + 1]
        alone = mha(row, row, row, key_padding_mask=pad[b : b + 1], is_causal=True)[0]
        torch.testing.assert_close(out[b : b + 1], alone)


@ex22
@given(dims=model_dims(min_len=2), data=st.data(), seed=seeds, rotary=st.booleans())
def test_is_causal_hides_the_future(dims, data, seed, rotary):
    """With is_causal=True, changing tokens after position t leaves outputs 0..t unchanged."""
    torch.manual_seed(seed)
    mha = make_mha(dims, rotary=rotary)
    x = randn(dims.batch, dims.length, dims.d_model)
    t = data.draw(st.integers(0, dims.length - 2))
    x2 = x.clone()
    x2[:, t + 1 :] = randn(dims.batch, dims.length - t - 1, dims.d_model) * 10
    out = mha(x, x, x, is_causal=True)[0]
    out2 = mha(x2, x2, x2, is_causal=True)[0]
    torch.testing.assert_close(out2[:, : t + 1], out[:, : t + 1])
    assert not torch.allclose(out2[:, t + 1 :], out[:, t + 1 :])  # the future did change


@ex22
@given(dims=model_dims(), data=st.data(), seed=seeds, extra=st.integers(1, 3), causal=st.booleans())
def test_padding_content_and_extra_padding_do_not_matter(dims, data, seed, extra, causal):
    """Real positions ignore what padded positions contain and how much padding there is."""
    torch.manual_seed(seed)
    mha = make_mha(dims)
    x = randn(dims.batch, dims.length, dims.d_model)
    pad = data.draw(padding_masks(dims.batch, dims.length))
    out = mha(x, x, x, key_padding_mask=pad, is_causal=causal)[0]
    real = ~pad

    x_new_pad = torch.where(pad[..., None], randn(*x.shape) * 100, x)
    out_new_pad = mha(x_new_pad, x_new_pad, x_new_pad, key_padding_mask=pad, is_causal=causal)[0]
    torch.testing.assert_close(out_new_pad[real], out[real])

    longer = torch.cat([x, randn(dims.batch, extra, dims.d_model)], dim=1)
    longer_pad = torch.cat([pad, torch.ones(dims.batch, extra, dtype=torch.bool)], dim=1)
    out_longer = mha(longer, longer, longer, key_padding_mask=longer_pad, is_causal=causal)[0]
    torch.testing.assert_close(out_longer[:, : dims.length][real], out[real])


# --------------------------------------------------------------------------- KV cache


@ex51
@given(dims=model_dims(min_len=2), data=st.data(), seed=seeds, rotary=st.booleans())
def test_kv_cache_self_attention_equals_full_forward(dims, data, seed, rotary):
    """Decoding chunk by chunk with a KVCache and is_causal gives the full causal forward pass."""
    torch.manual_seed(seed)
    mha = make_mha(dims, rotary=rotary)
    x = randn(dims.batch, dims.length, dims.d_model)
    full = mha(x, x, x, is_causal=True)[0]
    cache, outs, start = KVCache(), [], 0
    while start < dims.length:
        size = data.draw(st.integers(1, dims.length - start), label="chunk")
        chunk = x[:, start : start + size]
        outs.append(mha(chunk, chunk, chunk, cache=cache, is_causal=True)[0])
        start += size
        assert len(cache) == start
    torch.testing.assert_close(torch.cat(outs, dim=1), full)


@ex51
@given(dims=model_dims(), s=st.integers(1, 8), data=st.data(), seed=seeds)
def test_kv_cache_cross_attention_static_equals_full_forward(dims, s, data, seed):
    """A static cache projects the memory once; step-by-step queries match the full pass."""
    torch.manual_seed(seed)
    mha = make_mha(dims)
    y, memory = randn(dims.batch, dims.length, dims.d_model), randn(dims.batch, s, dims.d_model)
    pad = data.draw(padding_masks(dims.batch, s))
    full = mha(y, memory, memory, key_padding_mask=pad)[0]
    cache, outs = KVCache(static=True), []
    for t in range(dims.length):
        # After the first step the cached projection is used: the memory passed is irrelevant.
        mem = memory if t == 0 else torch.zeros_like(memory)
        outs.append(mha(y[:, t : t + 1], mem, mem, key_padding_mask=pad, cache=cache)[0])
        assert len(cache) == s
    torch.testing.assert_close(torch.cat(outs, dim=1), full)


@ex51
def test_kv_cache_cross_attention_static_with_rotary_equals_full_forward():
    """With rotary=True, a static (cross-attention) cache still reproduces the full forward pass."""
    dims = ModelDims(batch=2, length=4, nhead=2, head_dim=4)
    mha = make_mha(dims, rotary=True)
    y, memory = randn(2, 4, dims.d_model), randn(2, 5, dims.d_model)
    full = mha(y, memory, memory)[0]
    cache = KVCache(static=True)
    steps = [mha(y[:, t : t + 1], memory, memory, cache=cache)[0] for t in range(4)]
    torch.testing.assert_close(torch.cat(steps, dim=1), full)


@ex51
def test_kv_cache_update_appends_along_time():
    """update() concatenates along the time axis (dim -2) and returns everything cached."""
    cache = KVCache()
    k1, v1 = torch.randn(2, 3, 1, 4), torch.randn(2, 3, 1, 4)
    k2, v2 = torch.randn(2, 3, 2, 4), torch.randn(2, 3, 2, 4)
    cache.update(k1, v1)
    k, v = cache.update(k2, v2)
    assert torch.equal(k, torch.cat([k1, k2], dim=2)) and torch.equal(v, torch.cat([v1, v2], dim=2))
    assert len(cache) == 3


@ex51
def test_static_kv_cache_update_replaces_instead_of_appending():
    """A static cache holds one projection of the memory: a second update replaces the first."""
    cache = KVCache(static=True)
    cache.update(torch.randn(2, 3, 4, 2), torch.randn(2, 3, 4, 2))
    k2, v2 = torch.randn(2, 3, 5, 2), torch.randn(2, 3, 5, 2)
    k, v = cache.update(k2, v2)
    assert torch.equal(k, k2) and torch.equal(v, v2) and len(cache) == 5


def test_kv_cache_reorder_selects_batch_rows():
    """reorder(index) keeps (and repeats) the cached rows of the given batch indices."""
    cache = KVCache()
    k, v = torch.randn(3, 2, 4, 2), torch.randn(3, 2, 4, 2)
    cache.update(k, v)
    index = torch.tensor([2, 0, 0])
    cache.reorder(index)
    assert torch.equal(cache.key, k[index]) and torch.equal(cache.value, v[index])


# --------------------------------------------------------------------------- backends and weights


@ex22
@given(dims=model_dims(), data=st.data(), seed=seeds, causal=st.booleans(), as_float=st.booleans())
def test_sdpa_backend_equals_manual(dims, data, seed, causal, as_float):
    """The fused 'sdpa' backend gives the manual output and gradients, fully masked rows included."""
    torch.manual_seed(seed)
    manual = make_mha(dims)
    fused = make_mha(dims, backend="sdpa")
    fused.load_state_dict(manual.state_dict())
    keep = data.draw(bool_masks((dims.batch, 1, dims.length, dims.length), allow_empty_rows=True))
    keep[0, 0, 0] = False  # at least one fully masked query row
    mask = torch.zeros(keep.shape, dtype=torch.float64).masked_fill(~keep, -math.inf) if as_float else keep
    pad = data.draw(padding_masks(dims.batch, dims.length))
    x = randn(dims.batch, dims.length, dims.d_model)
    results = []
    for mha in (manual, fused):
        xi = x.clone().requires_grad_(True)
        out = mha(xi, xi, xi, attn_mask=mask, key_padding_mask=pad, is_causal=causal)[0]
        (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
        results.append((out, xi.grad, [p.grad for p in mha.parameters()]))
    (out_m, gx_m, gp_m), (out_f, gx_f, gp_f) = results
    assert torch.isfinite(out_f).all() and torch.isfinite(gx_f).all()
    torch.testing.assert_close(out_f, out_m)
    # A fully masked query row outputs W_o·0 + b_o, i.e. just the output bias.
    torch.testing.assert_close(out_f[0, 0], manual.w_o.bias)
    torch.testing.assert_close(gx_f, gx_m)
    for a, b in zip(gp_f, gp_m):
        torch.testing.assert_close(a, b)


@ex22
@given(dims=model_dims(), t_k=st.integers(1, 8), seed=seeds)
def test_need_weights_shape_and_rows(dims, t_k, seed):
    """need_weights returns per-head weights (B, H, T_q, T_k) whose rows sum to 1; else None."""
    torch.manual_seed(seed)
    mha = make_mha(dims)
    q, kv = randn(dims.batch, dims.length, dims.d_model), randn(dims.batch, t_k, dims.d_model)
    out, weights = mha(q, kv, kv, need_weights=True)
    assert weights.shape == (dims.batch, dims.nhead, dims.length, t_k)
    torch.testing.assert_close(weights.sum(-1), torch.ones(weights.shape[:-1], dtype=weights.dtype))
    out2, none = mha(q, kv, kv)
    assert none is None
    torch.testing.assert_close(out2, out)


def test_record_attention_collects_every_map():
    """record_attention fills {module name: (B, H, T, T)} during forward and detaches afterwards."""
    encoder = Encoder(d_model=16, nhead=4, num_layers=2, dim_feedforward=32, dropout=0.0).eval()
    x = torch.randn(2, 5, 16)
    with record_attention(encoder) as maps:
        _, weights = encoder(x, need_weights=True)
    assert set(maps) == {"layers.0.self_attn", "layers.1.self_attn"}
    for i in range(2):
        assert maps[f"layers.{i}.self_attn"].shape == (2, 4, 5, 5)
        torch.testing.assert_close(maps[f"layers.{i}.self_attn"], weights[i])
    assert all(m.recorder is None for m in encoder.modules() if isinstance(m, MultiHeadAttention))


def test_record_attention_works_with_sdpa_backend_and_bare_module():
    """A bare module records under 'self', and the fused backend still produces the weights."""
    mha = MultiHeadAttention(8, 2, attention_backend="sdpa")
    x = torch.randn(1, 3, 8)
    with record_attention(mha) as maps:
        out, weights = mha(x, x, x)
    assert weights is None
    assert list(maps) == ["self"] and maps["self"].shape == (1, 2, 3, 3)


def test_record_attention_rejects_model_without_attention():
    """A model with no MultiHeadAttention cannot be recorded; the error names the model class."""
    with pytest.raises(ValueError, match="Linear contains no MultiHeadAttention"):
        with record_attention(torch.nn.Linear(2, 2)):
            pass
