"""Classification metrics: hand-computed cases, scikit-learn as an oracle, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from minitransformer.metrics.classification import (
    accuracy,
    average_precision,
    choose_threshold,
    expected_cost,
    macro_f1,
    precision_recall_f1,
    recall_at_fpr,
    roc_auc,
    roc_auc_within,
)

sk_metrics = pytest.importorskip("sklearn.metrics")



labels_and_scores = st.integers(2, 40).flatmap(lambda n: st.tuples(
    st.lists(st.integers(0, 1), min_size=n, max_size=n),
    st.lists(st.integers(0, 6).map(lambda k: k / 6), min_size=n, max_size=n)))  # many ties


# --- hand-computed values -------------------------------------------------------------------

def test_accuracy_and_macro_f1_by_hand():
    y_true, y_pred = [0, 0, 1, 1, 2], [0, 1, 1, 1, 0]
    assert accuracy(y_true, y_pred) == pytest.approx(3 / 5)
    # class 0: tp 1 fp 1 fn 1 -> 2/4; class 1: tp 2 fp 1 fn 0 -> 4/5; class 2: 0
    assert macro_f1(y_true, y_pred) == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    assert macro_f1(y_true, y_pred, num_classes=4) == pytest.approx((0.5 + 0.8) / 4)


def test_roc_auc_by_hand_with_a_tie():
    # positives score 0.8, 0.4; negatives 0.4, 0.1: pairs (0.8>0.4, 0.8>0.1, 0.4=0.4 -> 1/2, 0.4>0.1)
    assert roc_auc([1, 1, 0, 0], [0.8, 0.4, 0.4, 0.1]) == pytest.approx(3.5 / 4)
    assert roc_auc([0, 1], [0.9, 0.1]) == 0.0
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5


@pytest.mark.exercise("7.3")
def test_average_precision_by_hand():
    # ranked: 0.9 (pos), 0.8 (neg), 0.7 (pos), 0.1 (neg): recall steps 1/2 at precision 1, 1/2 at 2/3
    assert average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    # a tie at the top counts as one step: precision 1/2 for the single positive
    assert average_precision([1, 0], [0.5, 0.5]) == pytest.approx(0.5)
    assert average_precision([0, 1, 1], [0.1, 0.2, 0.3]) == pytest.approx(1.0)


@pytest.mark.exercise("7.3")
@given(labels_and_scores)
def test_average_precision_matches_sklearn(case):
    labels, scores = np.array(case[0]), np.array(case[1])
    if labels.sum() == 0:
        return
    assert average_precision(labels, scores) == pytest.approx(
        sk_metrics.average_precision_score(labels, scores), abs=1e-12)


@given(labels_and_scores, st.randoms(use_true_random=False))
def test_roc_auc_within_groups_counts_only_same_group_comparisons(case, rnd):
    """The definition, by brute force: every (positive, negative) pair of one group, ties 1/2."""
    labels, scores = case
    groups = [rnd.randrange(3) for _ in labels]
    wins = total = 0.0
    for yi, si, gi in zip(labels, scores, groups):
        for yj, sj, gj in zip(labels, scores, groups):
            if yi == 1 and yj == 0 and gi == gj:
                wins += 1.0 if si > sj else 0.5 if si == sj else 0.0
                total += 1
    if total == 0:
        with pytest.raises(ValueError, match="both classes"):
            roc_auc_within(labels, scores, groups)
    else:
        assert roc_auc_within(labels, scores, groups) == pytest.approx(wins / total, abs=1e-12)


def test_roc_auc_within_one_group_is_roc_auc_and_a_group_feature_scores_one_half():
    labels, scores = [1, 0, 1, 0, 1, 0], [0.9, 0.1, 0.7, 0.6, 0.3, 0.4]
    assert roc_auc_within(labels, scores, [7] * 6) == pytest.approx(roc_auc(labels, scores))
    groups = [0, 0, 1, 1, 2, 2]
    # a score that is the group itself (all the "overlap" a lexical model sees) ranks nothing inside
    assert roc_auc_within(labels, groups, groups) == 0.5
    assert roc_auc_within(labels, scores, groups) == pytest.approx(2 / 3)


@given(labels_and_scores)
def test_roc_auc_and_recall_at_fpr_match_sklearn(case):
    labels, scores = np.array(case[0]), np.array(case[1])
    if labels.min() == labels.max():
        return
    assert roc_auc(labels, scores) == pytest.approx(sk_metrics.roc_auc_score(labels, scores), abs=1e-12)
    fpr, tpr, _ = sk_metrics.roc_curve(labels, scores, drop_intermediate=False)
    for max_fpr in (0.0, 0.1, 0.5, 1.0):
        assert recall_at_fpr(labels, scores, max_fpr) == pytest.approx(tpr[fpr <= max_fpr].max())


def test_precision_recall_f1_match_sklearn():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    expected = sk_metrics.precision_recall_fscore_support(y_true, y_pred, average="binary")[:3]
    assert precision_recall_f1(y_true, y_pred) == pytest.approx(expected)
    assert precision_recall_f1([1, 1], [0, 0]) == (0.0, 0.0, 0.0)  # nothing flagged: 0, no crash


def test_torch_tensors_are_accepted():
    assert roc_auc(torch.tensor([0, 1, 1]), torch.tensor([0.1, 0.7, 0.3])) == pytest.approx(1.0)
    assert accuracy(torch.tensor([1, 2]), np.array([1, 0])) == 0.5


# --- thresholds and costs --------------------------------------------------------------------

def test_choose_threshold_minimises_cost():
    labels = np.array([0, 0, 0, 1, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.8, 0.9])
    threshold = choose_threshold(labels, scores, cost_fn=5, cost_fp=1)
    best = min(expected_cost(labels, scores >= t, 5, 1) for t in [*scores, 1.0])
    assert expected_cost(labels, scores >= threshold, 5, 1) == pytest.approx(best)
    assert 0.3 < threshold <= 0.4  # flag 0.4 and above: one false alarm, no miss
    # false alarms become expensive: flag only the sure ones
    assert 0.5 < choose_threshold(labels, scores, cost_fn=1, cost_fp=10) <= 0.8


def test_choose_threshold_target_precision_and_f1():
    labels = np.array([0, 0, 0, 1, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.8, 0.9])
    t = choose_threshold(labels, scores, target_precision=1.0)
    precision, recall, _ = precision_recall_f1(labels, scores >= t)
    assert precision == 1.0 and recall == pytest.approx(2 / 3)
    t = choose_threshold(labels, scores)   # max F1: flag >= 0.4 gives P 3/4, R 1
    assert precision_recall_f1(labels, scores >= t)[2] == pytest.approx(6 / 7)


def test_expected_cost_by_hand():
    assert expected_cost([1, 0, 1, 0], [0, 1, 1, 0], cost_fn=5, cost_fp=1) == pytest.approx(6 / 4)


# --- bad input -------------------------------------------------------------------------------

def test_errors_are_clear():
    with pytest.raises(ValueError, match="both classes"):
        roc_auc([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="3 values but scores has 2"):
        roc_auc([0, 1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="empty"):
        accuracy([], [])
    with pytest.raises(ValueError, match="at least one positive"):
        average_precision([0, 0], [0.1, 0.2])
    with pytest.raises(ValueError, match="nan"):
        roc_auc([0, 1], [0.1, float("nan")])
    with pytest.raises(ValueError, match="binary"):
        roc_auc([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="1-D"):
        accuracy(np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="both or neither"):
        choose_threshold([0, 1], [0.1, 0.2], cost_fn=1)
