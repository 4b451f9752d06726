"""Pseudo-label selection (hand-made cases) and the self-training loop on a planted-signal set."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from minitransformer.training.semi_supervised import (
    distill,
    select_pseudo_labels,
    select_top_fraction,
    self_train,
    sharpen,
)

PROBS = torch.tensor([[0.95, 0.05],   # 0: sure class 0
                      [0.50, 0.50],   # 1: unsure
                      [0.02, 0.98],   # 2: sure class 1
                      [0.91, 0.09],   # 3: sure class 0
                      [0.30, 0.70]])  # 4: leaning class 1


@pytest.mark.exercise("7.5")
def test_threshold_selects_confident_rows():
    indices, labels = select_pseudo_labels(PROBS, threshold=0.9)
    assert indices.tolist() == [0, 2, 3] and labels.tolist() == [0, 1, 0]
    assert indices.dtype == labels.dtype == torch.long
    indices, labels = select_pseudo_labels(PROBS, threshold=0.6)
    assert indices.tolist() == [0, 2, 3, 4] and labels.tolist() == [0, 1, 0, 1]


@pytest.mark.exercise("7.5")
def test_per_class_cap_and_balance_keep_the_most_confident():
    indices, labels = select_pseudo_labels(PROBS, threshold=0.9, max_per_class=1)
    assert indices.tolist() == [0, 2] and labels.tolist() == [0, 1]   # row 0 (0.95) beats row 3 (0.91)
    indices, labels = select_pseudo_labels(PROBS, threshold=0.6, class_balance=True)
    assert sorted(labels.tolist()) == [0, 0, 1, 1]
    indices, labels = select_pseudo_labels(PROBS, threshold=0.9, class_balance=True)
    assert indices.tolist() == [0, 2]


@pytest.mark.exercise("7.5")
def test_nothing_confident_gives_empty_tensors():
    indices, labels = select_pseudo_labels(PROBS, threshold=0.99)
    assert len(indices) == len(labels) == 0 and indices.dtype == torch.long


def test_bad_probabilities_are_rejected():
    with pytest.raises(ValueError, match="shape"):
        select_pseudo_labels(torch.rand(5))
    with pytest.raises(ValueError, match="threshold"):
        select_pseudo_labels(PROBS, threshold=1.5)


def test_top_fraction_keeps_the_prior():
    probs = torch.linspace(0.01, 0.99, 100)
    probs = torch.stack([1 - probs, probs], dim=1)
    indices, labels = select_top_fraction(probs, 0.5, torch.tensor([0.8, 0.2]))
    assert (labels == 1).sum() == 10 and (labels == 0).sum() == 40
    assert indices[labels == 1].min() >= 90 and indices[labels == 0].max() < 40


def _planted_two_clusters(n=600, seed=0):
    """Two clusters along x (centres -2 and +2) with a low-density gap between them."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, generator=g) * 0.8 + (labels * 2 - 1) * 2.0
    y = torch.randn(n, generator=g)
    return torch.stack([x, y, torch.ones(n)], dim=1), labels, x


def _shifted_few_labels():
    """Planted clusters with 4 labels chosen so that the supervised boundary is off.

    The 2 labelled class-0 rows lie nearest the gap, the 2 class-1 rows farthest out, so the
    supervised boundary sits inside cluster 1; pseudo-labels pull it into the gap.
    Returns the data, the split, and linear-model ``train_fn`` / ``predict_fn`` / ``accuracy``.
    """
    features, labels, x = _planted_two_clusters()
    nearest_gap = torch.argsort(-x + 1e3 * (labels != 0))[:2]
    farthest = torch.argsort(-x + 1e3 * (labels != 1))[:2]
    labelled = torch.cat([nearest_gap, farthest])
    unlabelled = torch.tensor([i for i in range(len(x)) if i not in set(labelled.tolist())])

    def train_fn(rows, targets, previous):
        """Class ids (N,) or soft targets (N, 2); L2-regularised softmax regression."""
        weight = torch.zeros(3, 2, requires_grad=True)
        optimizer = torch.optim.LBFGS([weight], max_iter=200)

        def closure():
            optimizer.zero_grad()
            loss = F.cross_entropy(features[rows] @ weight, targets) + 0.05 * weight.pow(2).sum()
            loss.backward()
            return loss

        optimizer.step(closure)
        return weight.detach()

    def predict_fn(weight, rows):
        return torch.softmax(features[rows] @ weight, dim=1)

    def accuracy(weight):
        return (predict_fn(weight, unlabelled).argmax(1) == labels[unlabelled]).float().mean().item()

    return labels, labelled, unlabelled, train_fn, predict_fn, accuracy


def test_self_training_beats_supervised_only_on_planted_clusters():
    labels, labelled, unlabelled, train_fn, predict_fn, accuracy = _shifted_few_labels()
    result = self_train(train_fn, predict_fn, labelled, labels[labelled], unlabelled, rounds=3,
                        threshold=0.9)
    supervised = accuracy(train_fn(labelled, labels[labelled], None))
    assert len(result.rounds) == 3 and result.rounds[0]["pseudo_labels"] > 100
    assert supervised < 0.9 and accuracy(result.model) > supervised + 0.05


def test_sharpen_keeps_the_argmax_and_lowers_entropy():
    probs = torch.tensor([[0.6, 0.4], [0.2, 0.8]])
    assert torch.allclose(sharpen(probs, 1.0), probs)
    sharp = sharpen(probs, 0.5)                        # p^2 / sum: 0.36 / 0.52
    assert sharp[0, 0].item() == pytest.approx(0.36 / 0.52) and torch.allclose(sharp.sum(1), torch.ones(2))
    with pytest.raises(ValueError, match="temperature"):
        sharpen(probs, 0.0)


def test_soft_pseudo_labels_beat_supervised_only_on_planted_clusters():
    labels, labelled, unlabelled, train_fn, predict_fn, accuracy = _shifted_few_labels()
    supervised = accuracy(train_fn(labelled, labels[labelled], None))
    result = distill(train_fn, predict_fn, labelled, labels[labelled], unlabelled, num_classes=2,
                     rounds=3, temperature=0.5)
    assert len(result.rounds) == 3 and result.rounds[0]["pseudo_labels"] == len(unlabelled)
    assert supervised < 0.9 and accuracy(result.model) > supervised + 0.08


def test_distill_keeps_the_teacher_when_a_student_scores_worse_on_validation():
    labels, labelled, unlabelled, train_fn, predict_fn, _ = _shifted_few_labels()
    trained = []

    def counting_train_fn(rows, targets, previous):
        trained.append(previous)
        return len(trained)                             # model k = the k-th call

    def predict(model, rows):
        return torch.full((len(rows), 2), 0.5)

    scores = {1: 0.7, 2: 0.6, 3: 0.8}                   # round 1 is worse, round 2 better
    result = distill(counting_train_fn, predict, labelled, labels[labelled], unlabelled, num_classes=2,
                     rounds=2, score_fn=scores.get)
    assert trained == [None, 1, 1]                      # round 2 still learns from model 1
    assert result.model == 3 and [r["score"] for r in result.rounds] == [0.6, 0.8]
