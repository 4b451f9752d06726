"""The intent classifier (tasks/qa/router/classifier.py): the wide part, batches of soft targets."""

from __future__ import annotations

import torch

from tasks.qa.config import IntentConfig, qa_encoder
from tasks.qa.router.classifier import IntentClassifier, intent_batches


def test_wide_part_starts_at_zero_and_is_a_linear_model_on_ngrams():
    encoder = qa_encoder(d_model=16, nhead=2, num_layers=1, dim_feedforward=32, dropout=0.0)
    config = IntentConfig(vocab_size=50, encoder=encoder, num_labels=3, ngram_buckets=64, wide_ngrams=True)
    model = IntentClassifier(config).eval()
    ids, grams = torch.randint(6, 50, (2, 5)), torch.tensor([[3, 7, 0], [7, 0, 0]])  # 0 = padding
    deep = model.head(model.sentence(ids, grams))  # (B, C)
    assert torch.allclose(model(ids, grams), deep)  # U = 0 at the start
    with torch.no_grad():
        model.wide.weight[3], model.wide.weight[7] = torch.tensor([1.0, 0, 0]), torch.tensor([0, 2.0, 0])
    wide = model(ids, grams) - deep  # (B, C): the sum of each question's n-gram rows
    assert torch.allclose(wide, torch.tensor([[1.0, 2.0, 0.0], [0.0, 2.0, 0.0]]))


def test_intent_batches_keep_soft_targets_as_probabilities():
    row = (([6, 7], [1]), 1)
    assert intent_batches([row, row])[2].dtype == torch.long
    ids, grams, targets = intent_batches([(([6, 7], [1]), [0.25, 0.75]), (([8], [2, 3]), [1.0, 0.0])])
    assert ids.shape == (2, 2) and grams.shape == (2, 2)
    assert targets.dtype == torch.float and torch.equal(targets, torch.tensor([[0.25, 0.75], [1.0, 0.0]]))
