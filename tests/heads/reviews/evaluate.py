"""Scoring and predicting: accuracy of the model beside the majority-class baseline."""

from __future__ import annotations

from pathlib import Path

import torch

from .baselines import majority_class
from .data import encode, read_reviews
from .model import ReviewClassifier
from .train import collate


def complaint_probability(model: ReviewClassifier, texts: list[str]) -> list[float]:
    """P(complaint) of each text, ``(N,)``."""
    ids, _ = collate([(row, 0) for row in encode(texts, model.vocab, model.config.max_len)])
    with torch.no_grad():
        return model(ids).softmax(-1)[:, 1].tolist()


def evaluate(model: ReviewClassifier, data: str | Path) -> dict[str, float]:
    """``{"accuracy": model, "baseline_accuracy": majority class}`` on the CSV ``data``.

    >>> import tempfile
    >>> from tests.heads.reviews import evaluate, train
    >>> from tests.heads.reviews.synthetic import write_reviews
    >>> folder = tempfile.mkdtemp()
    >>> run = train(write_reviews(f"{folder}/train.csv"), f"{folder}/model", progress=False)
    >>> scores = evaluate(run.model, write_reviews(f"{folder}/test.csv", n=100, seed=1))
    >>> scores["accuracy"] > scores["baseline_accuracy"]
    True
    """
    texts, labels = read_reviews(data)
    predicted = [int(p > 0.5) for p in complaint_probability(model, texts)]
    guess = majority_class(labels)  # the most generous baseline: the test set's own majority
    return {"accuracy": sum(p == y for p, y in zip(predicted, labels)) / len(labels),
            "baseline_accuracy": sum(guess == y for y in labels) / len(labels), "reviews": len(labels)}


def predict(model: ReviewClassifier, texts: list[str]) -> list[float]:
    """P(complaint) for each review text.

    >>> import tempfile
    >>> from tests.heads.reviews import predict, train
    >>> from tests.heads.reviews.synthetic import write_reviews
    >>> folder = tempfile.mkdtemp()
    >>> run = train(write_reviews(f"{folder}/reviews.csv"), f"{folder}/model", progress=False)
    >>> [round(p) for p in predict(run.model, ["the box came broken", "fits as pictured"])]
    [1, 0]
    """
    return complaint_probability(model, list(texts))
