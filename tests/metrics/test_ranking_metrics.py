"""Ranking metrics (exercise 7.1: NDCG@K) against hand-computed values and scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from minitransformer.metrics.ranking import hit_rate_at_k, mrr, ndcg_at_k, rank_of_target, ranking_report

ex71 = pytest.mark.exercise("7.1")


@ex71
def test_ndcg_hand_computed():
    ranks = torch.tensor([0, 1, 4, 10])
    expected = (1.0 + 1 / math.log2(3) + 1 / math.log2(6) + 0.0) / 4
    assert ndcg_at_k(ranks, 5) == pytest.approx(expected)
    assert ndcg_at_k(ranks, 11) == pytest.approx(expected + 1 / math.log2(12) / 4)


@ex71
def test_ndcg_matches_scikit_learn():
    sklearn = pytest.importorskip("sklearn.metrics")
    gen = torch.Generator().manual_seed(0)
    scores = torch.randn(50, 30, generator=gen, dtype=torch.float64)  # distinct: no ties
    target = torch.randint(0, 30, (50,), generator=gen)
    ranks = rank_of_target(scores, target, ties="pessimistic")
    y_true = np.zeros((50, 30))
    y_true[np.arange(50), target.numpy()] = 1
    for k in (1, 5, 10):
        oracle = sklearn.ndcg_score(y_true, scores.numpy(), k=k)
        assert ndcg_at_k(ranks, k) == pytest.approx(oracle, abs=1e-9)


@ex71
@given(st.lists(st.integers(0, 100), min_size=1, max_size=50), st.integers(1, 30))
def test_ndcg_between_zero_and_hit_rate(ranks, k):
    ranks = torch.tensor(ranks)
    assert 0.0 <= ndcg_at_k(ranks, k) <= hit_rate_at_k(ranks, k) + 1e-12


def test_hit_rate_and_mrr_hand_computed():
    ranks = torch.tensor([0, 3, 9, 10])
    assert hit_rate_at_k(ranks, 10) == pytest.approx(0.75)
    assert hit_rate_at_k(ranks, 1) == pytest.approx(0.25)
    assert mrr(ranks) == pytest.approx((1 + 1 / 4 + 1 / 10 + 1 / 11) / 4)
    report = ranking_report(ranks)
    assert set(report) == {"HR@5", "NDCG@5", "HR@10", "NDCG@10", "HR@20", "NDCG@20", "MRR"}


def test_rank_counts_strictly_higher_and_ties_against_the_target():
    scores = torch.tensor([[0.5, 0.9, 0.5, 0.1, 0.7]])
    target = torch.tensor([0])
    assert rank_of_target(scores, target, ties="pessimistic").item() == 3  # 0.9, 0.7 and the tie
    random_ranks = {rank_of_target(scores, target, generator=torch.Generator().manual_seed(s)).item()
                    for s in range(20)}
    assert random_ranks == {2, 3}


def test_excluded_items_do_not_count_and_target_is_never_excluded():
    scores = torch.tensor([[0.5, 0.9, 0.1, 0.7]])
    exclude = torch.tensor([[True, True, False, False]])  # the target (0) is excluded by mistake
    assert rank_of_target(scores, torch.tensor([0]), exclude).item() == 1  # only 0.7 is a rival


def test_constant_model_scores_chance_level_not_one():
    n_users, n_items = 4000, 200
    scores = torch.zeros(n_users, n_items)
    target = torch.randint(0, n_items, (n_users,))
    hr = hit_rate_at_k(rank_of_target(scores, target), 10)
    assert hr == pytest.approx(10 / n_items, abs=0.01)
    assert hit_rate_at_k(rank_of_target(scores, target, ties="pessimistic"), 10) == 0.0


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="scores"):
        rank_of_target(torch.zeros(3), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="target ids"):
        rank_of_target(torch.zeros(2, 3), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="k must"):
        ndcg_at_k(torch.tensor([1]), 0)
    assert math.isnan(ndcg_at_k(torch.tensor([], dtype=torch.long), 10))
