"""The linear n-gram expert of the QA head (the second view of few-label co-training)."""

from __future__ import annotations

import math

import pytest
import torch

from tasks.qa.encoding import pad_ids, text_ngrams
from tasks.qa.router.linear import LinearNgramExpert, choose_mix_weight, fit_linear_expert, mix_log_probs
from tasks.qa.synthetic import faq_split


def test_idf_and_row_weights_by_hand():
    expert = LinearNgramExpert(buckets=8, num_labels=2)
    grams = torch.tensor([[1, 2, 0], [1, 3, 4]])            # bucket 1 in both questions, 0 = padding
    fit_linear_expert(expert, grams, torch.tensor([0, 1]), max_iter=5)
    assert expert.idf[1] == pytest.approx(math.log(3 / 3) + 1)   # in every question: idf 1
    assert expert.idf[2] == pytest.approx(math.log(3 / 2) + 1)
    weights = expert.bucket_weights(grams)
    assert weights[0, 2] == 0                                     # padding weighs nothing
    assert torch.allclose(weights.norm(dim=1), torch.ones(2))     # each row has unit length


def test_linear_expert_learns_the_builtin_faq():
    train, test = faq_split()
    train = [(q, y) for q, y in train if y != "oos"]
    test = [(q, y) for q, y in test if y != "oos"]
    names = sorted({y for _, y in train})
    ids = {n: i for i, n in enumerate(names)}

    def grams(rows):
        return pad_ids([text_ngrams(q, 4096) for q, _ in rows])

    expert = LinearNgramExpert(4096, len(names))
    loss = fit_linear_expert(expert, grams(train), torch.tensor([ids[y] for _, y in train]))
    with torch.no_grad():
        predicted = expert(grams(test)).argmax(-1)
    truth = torch.tensor([ids[y] for _, y in test])
    assert loss < 1.0
    assert (predicted == truth).float().mean() > 0.8              # chance is 1 / 30


def test_soft_targets_are_accepted():
    expert = LinearNgramExpert(buckets=8, num_labels=2)
    grams = torch.tensor([[1, 2], [3, 4]])
    fit_linear_expert(expert, grams, torch.tensor([[0.9, 0.1], [0.2, 0.8]]))
    with torch.no_grad():
        probs = expert(grams).softmax(-1)
    assert probs[0, 0] > 0.5 and probs[1, 1] > 0.5


def test_mix_is_a_distribution_and_its_ends_are_the_experts():
    deep, linear = torch.randn(5, 4), torch.randn(5, 4)
    for w in (0.0, 0.3, 1.0):
        assert torch.allclose(mix_log_probs(deep, linear, w).exp().sum(-1), torch.ones(5))
    assert torch.allclose(mix_log_probs(deep, linear, 1.0), deep.log_softmax(-1), atol=1e-6)
    assert torch.allclose(mix_log_probs(deep, linear, 0.0), linear.log_softmax(-1), atol=1e-6)


def test_mix_weight_follows_the_expert_that_is_right():
    labels = [0, 1, 2, 3]
    right = torch.eye(4) * 5                                     # argmax = the label
    wrong = torch.roll(torch.eye(4), 1, dims=1) * 5              # argmax = the next label
    assert choose_mix_weight(right, wrong, labels) == 1.0
    assert choose_mix_weight(wrong, right, labels) == 0.0
    assert choose_mix_weight(right, wrong, labels, by="log_loss") == 1.0
    assert choose_mix_weight(wrong, right, labels, by="log_loss") == 0.0


def test_log_loss_weight_is_the_likelihood_minimum():
    # two equally informative experts, each right on half the questions: the product's log-loss is
    # symmetric in w <-> 1 - w, so the maximum-likelihood weight is the middle of the grid
    labels = [0, 1, 0, 1]
    a = torch.tensor([[2.0, 0.0], [0.0, 2.0], [0.0, 1.0], [1.0, 0.0]])
    b = torch.tensor([[0.0, 1.0], [1.0, 0.0], [2.0, 0.0], [0.0, 2.0]])
    assert choose_mix_weight(a, b, labels, by="log_loss") == 0.5
    grid_losses = [float(torch.nn.functional.nll_loss(mix_log_probs(a, b, k / 10), torch.tensor(labels)))
                   for k in range(11)]
    assert min(grid_losses) == grid_losses[5]
    with pytest.raises(ValueError, match="by: expected"):
        choose_mix_weight(a, b, labels, by="auc")


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="grams must be"):
        fit_linear_expert(LinearNgramExpert(4, 2), torch.tensor([1, 2]), torch.tensor([0, 1]))
