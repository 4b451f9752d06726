"""Causal and padding masks, and how they merge (exercise 1.3)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minitransformer
from minitransformer import causal_mask, merge_masks, padding_mask
from tests.strategies import MAX_LEN, batch_sizes, bool_masks, lengths, sequence_lengths

ex13 = pytest.mark.exercise("1.3")


@ex13
@given(t=lengths)
def test_causal_mask_square_is_lower_triangular(t):
    """causal_mask(t) is the bool (t, t) lower triangle: query i may see keys j <= i."""
    mask = causal_mask(t)
    assert mask.dtype == torch.bool and mask.shape == (t, t)
    assert torch.equal(mask, torch.ones(t, t).tril().bool())


@ex13
@given(t_q=lengths, extra=st.integers(0, MAX_LEN))
def test_causal_mask_with_longer_keys_places_queries_last(t_q, extra):
    """With t_k > t_q, query i sits at position t_k - t_q + i and sees keys up to there."""
    t_k = t_q + extra
    mask = causal_mask(t_q, t_k)
    assert mask.shape == (t_q, t_k)
    for i in range(t_q):
        position = t_k - t_q + i
        assert mask[i, : position + 1].all()
        assert not mask[i, position + 1 :].any()
    assert torch.equal(mask, causal_mask(t_k)[t_k - t_q :])  # the last rows of the full mask


@ex13
def test_causal_mask_single_query_sees_everything():
    """One new token decoded after 4 cached ones may attend to all 5 keys."""
    assert torch.equal(causal_mask(1, 5), torch.ones(1, 5, dtype=torch.bool))


def test_causal_mask_rejects_fewer_keys_than_queries():
    """t_k < t_q has no meaning for a causal mask and is rejected with both sizes in the message."""
    with pytest.raises(ValueError, match=r"t_k >= t_q.*t_q=4, t_k=2"):
        causal_mask(4, 2)


@ex13
@given(batch=batch_sizes, data=st.data())
def test_padding_mask_from_lengths(batch, data):
    """From lengths (B,), True marks positions >= length; width is the longest length."""
    sizes = data.draw(sequence_lengths(batch, MAX_LEN))
    mask = padding_mask(torch.tensor(sizes))
    assert mask.dtype == torch.bool and mask.shape == (batch, max(sizes))
    for b, n in enumerate(sizes):
        assert not mask[b, :n].any() and mask[b, n:].all()


@ex13
def test_padding_mask_from_lengths_with_max_len():
    """max_len widens the mask beyond the longest sequence (all extra positions are padding)."""
    mask = padding_mask(torch.tensor([2, 3]), max_len=5)
    expected = torch.tensor([[False, False, True, True, True], [False, False, False, True, True]])
    assert torch.equal(mask, expected)


@ex13
@given(batch=batch_sizes, length=lengths, pad_id=st.integers(0, 3), seed=st.integers(0, 1000))
def test_padding_mask_from_ids(batch, length, pad_id, seed):
    """From ids (B, T) and pad_id, True exactly where ids == pad_id, wherever that is."""
    ids = torch.randint(0, 4, (batch, length), generator=torch.Generator().manual_seed(seed))
    mask = padding_mask(ids, pad_id=pad_id)
    assert mask.dtype == torch.bool
    assert torch.equal(mask, ids == pad_id)


def test_padding_mask_rejects_wrong_rank():
    """Lengths must be (B,) and ids (B, T); the message names the argument and both ranks."""
    with pytest.raises(ValueError, match=r"lengths: expected a 1-d tensor of shape \(B,\).*\(2, 3\)"):
        padding_mask(torch.ones(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"ids: expected a 2-d tensor of shape \(B, T\).*got 1-d.*\(3,?\)"):
        padding_mask(torch.ones(3, dtype=torch.long), pad_id=0)


def test_merge_masks_with_nothing_returns_none():
    """No masks in, None out (attention then sees every key)."""
    assert merge_masks(None, None) is None


def test_merge_masks_attention_only_is_unchanged():
    """Without a padding mask the attention mask passes through untouched."""
    attn = causal_mask(3)
    assert merge_masks(attn, None) is attn


@given(batch=batch_sizes, t_q=lengths, t_k=lengths, data=st.data())
def test_merge_masks_bool_and_bool(batch, t_q, t_k, data):
    """bool attn (True = attend) & bool padding (True = pad) -> bool 'may attend' (B, 1, T_q, T_k)."""
    attn = data.draw(bool_masks((t_q, t_k), allow_empty_rows=True))
    pad = data.draw(bool_masks((batch, t_k), allow_empty_rows=True))
    merged = merge_masks(attn, pad)
    assert merged.dtype == torch.bool and merged.shape == (batch, 1, t_q, t_k)
    for b in range(batch):
        for i in range(t_q):
            for j in range(t_k):
                assert merged[b, 0, i, j] == (attn[i, j] and not pad[b, j])


@given(batch=batch_sizes, t_k=lengths, data=st.data())
def test_merge_masks_padding_only(batch, t_k, data):
    """A padding mask alone becomes the flipped (B, 1, 1, T_k) 'may attend' mask."""
    pad = data.draw(bool_masks((batch, t_k), allow_empty_rows=True))
    merged = merge_masks(None, pad)
    assert merged.shape == (batch, 1, 1, t_k)
    assert torch.equal(merged[:, 0, 0], ~pad)


@given(batch=batch_sizes, t_q=lengths, t_k=lengths, data=st.data())
def test_merge_masks_float_and_bool(batch, t_q, t_k, data):
    """Float attn + bool padding -> float mask: the attn value where kept, -inf on padded keys."""
    attn = torch.randn(t_q, t_k, dtype=torch.float64)
    pad = data.draw(bool_masks((batch, t_k), allow_empty_rows=True))
    merged = merge_masks(attn, pad)
    assert merged.is_floating_point() and merged.shape == (batch, 1, t_q, t_k)
    expected = attn.expand(batch, 1, t_q, t_k).masked_fill(pad[:, None, None, :], -math.inf)
    assert torch.equal(merged, expected)


def test_merge_masks_bool_attention_and_float_padding():
    """A float padding mask is added (PyTorch semantics); the bool attn mask becomes 0 / -inf."""
    attn = torch.tensor([[True, False], [True, True]])
    pad = torch.tensor([[0.0, -1.5]])
    merged = merge_masks(attn, pad, dtype=torch.float64)
    expected = torch.tensor([[[[0.0, -math.inf], [0.0, -1.5]]]], dtype=torch.float64)
    assert merged.dtype == torch.float64
    assert torch.equal(merged, expected)


def test_merge_masks_float_padding_only():
    """A float padding mask alone is returned as an additive (B, 1, 1, T_k) mask of the given dtype."""
    pad = torch.tensor([[0.0, -math.inf, 2.0]])
    merged = merge_masks(None, pad, dtype=torch.float64)
    assert merged.shape == (1, 1, 1, 3) and merged.dtype == torch.float64
    assert torch.equal(merged[0, 0, 0], pad[0].double())


def test_merge_masks_rejects_wrong_padding_rank():
    """The padding mask must be (B, T_k); the message says so and shows what arrived."""
    with pytest.raises(ValueError, match=r"key_padding_mask: expected a 2-d tensor of shape \(B, T_k\)"):
        merge_masks(None, torch.zeros(4, dtype=torch.bool))


def test_combine_masks_is_merge_masks():
    """The alias some courses use points at the same function."""
    assert minitransformer.combine_masks is merge_masks
