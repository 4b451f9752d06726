"""BERT-style masking (exercise 7.4): what is selected, what replaces it, what the labels say."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from minitransformer.training.masking import IGNORE_INDEX, mask_tokens

ex74 = pytest.mark.exercise("7.4")
MASK, VOCAB = 99, 100


def _ids(batch=64, length=50):
    return torch.randint(1, 90, (batch, length))


@ex74
def test_labels_hold_the_original_id_exactly_where_selected():
    ids = _ids()
    masked, labels = mask_tokens(ids, MASK, VOCAB, generator=torch.Generator().manual_seed(0))
    selected = labels != IGNORE_INDEX
    assert selected.any()
    assert torch.equal(labels[selected], ids[selected])
    assert torch.equal(masked[~selected], ids[~selected])  # unselected positions untouched


@ex74
def test_mask_only_mode_replaces_every_selected_item_by_mask():
    ids = _ids()
    masked, labels = mask_tokens(ids, MASK, VOCAB, mask_prob=0.3, random_prob=0.0, keep_prob=0.0)
    selected = labels != IGNORE_INDEX
    assert (masked[selected] == MASK).all()
    assert not (masked[~selected] == MASK).any()


@ex74
def test_80_10_10_split_and_selection_rate():
    ids = torch.randint(1, 90, (400, 250))  # 100,000 positions
    masked, labels = mask_tokens(ids, MASK, VOCAB, mask_prob=0.15, generator=torch.Generator().manual_seed(1))
    selected = labels != IGNORE_INDEX
    rate = selected.float().mean().item()
    assert abs(rate - 0.15) < 0.01
    n = selected.sum().item()
    as_mask = (masked[selected] == MASK).sum().item() / n
    kept = (masked[selected] == ids[selected]).sum().item() / n
    # a random replacement can hit the original id by chance (1 in 98)
    assert abs(as_mask - 0.8) < 0.02
    assert abs(kept - (0.1 + 0.1 / 98)) < 0.02


@ex74
def test_special_ids_are_never_selected_nor_used_as_random_replacements():
    ids = _ids()
    ids[:, :10] = 0  # padding
    masked, labels = mask_tokens(ids, MASK, VOCAB, mask_prob=0.9, special_ids=(0,), random_prob=0.5,
                                 keep_prob=0.0)
    assert (labels[:, :10] == IGNORE_INDEX).all()
    assert (masked[:, :10] == 0).all()
    replaced = (labels != IGNORE_INDEX) & (masked != MASK)
    assert replaced.any()
    assert not (masked[replaced] == 0).any()


@ex74
def test_generator_makes_the_draw_reproducible_and_input_is_not_modified():
    ids = _ids()
    before = ids.clone()
    a = mask_tokens(ids, MASK, VOCAB, generator=torch.Generator().manual_seed(7))
    b = mask_tokens(ids, MASK, VOCAB, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert torch.equal(ids, before)


@ex74
@given(prob=st.sampled_from([0.0, 1.0]))
def test_extreme_probabilities(prob):
    ids = _ids(4, 8)
    masked, labels = mask_tokens(ids, MASK, VOCAB, mask_prob=prob, random_prob=0.0, keep_prob=0.0)
    if prob == 0.0:
        assert (labels == IGNORE_INDEX).all() and torch.equal(masked, ids)
    else:
        assert torch.equal(labels, ids) and (masked == MASK).all()


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="ids must be"):
        mask_tokens(torch.zeros(5, dtype=torch.long), MASK, VOCAB)
    with pytest.raises(ValueError, match="mask_prob"):
        mask_tokens(_ids(), MASK, VOCAB, mask_prob=1.5)
    with pytest.raises(ValueError, match="random_prob"):
        mask_tokens(_ids(), MASK, VOCAB, random_prob=0.7, keep_prob=0.7)
