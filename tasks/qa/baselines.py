"""A dependency-free intent baseline: TF-IDF vectors and the nearest intent centroid.

What a from-scratch Transformer has to beat on a small FAQ, with NumPy only (the benchmarks'
stronger scikit-learn TF-IDF + logistic regression baseline needs a test-only dependency).

Features of a question (lower-cased, spaces collapsed, padded with one space each side): its
character 1-, 2- and 3-grams (they work for English and for Chinese, which has no spaces) and
its words. With ``tf`` the count of feature ``f`` in the question and ``df`` the number of
training questions that contain it (``n`` questions)::

    x_f = (1 + log tf) * idf_f,    idf_f = log((1 + n) / (1 + df_f)) + 1,    x <- x / ||x||

**Nearest centroid** (default): every intent is the mean of its training vectors, renormalised;
a question gets the intent of the most cosine-similar centroid. **Nearest neighbour**: the intent
of the single most similar training question. Out-of-scope training rows (``oos``) are just one
more intent, so a question nearest to them is handed to a human.

:func:`intent_baselines` fits both on the training questions and scores them on test questions;
:func:`tasks.qa.evaluate` reports them beside the router.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

__all__ = ["TfidfIntentBaseline", "question_features", "intent_baselines"]

_WORD = re.compile(r"\w+")


def question_features(text: str) -> list[str]:
    """Character 1-3-grams of the padded, lower-cased text, then ``w:word`` for every word."""
    folded = " " + " ".join(text.lower().split()) + " "
    grams = [folded[i:i + n] for n in (1, 2, 3) for i in range(len(folded) - n + 1)]
    return grams + [f"w:{word}" for word in _WORD.findall(folded)]


class TfidfIntentBaseline:
    """``fit(texts, labels)`` then ``predict(texts)``; ``kind`` is ``"centroid"`` or ``"neighbour"``."""

    def __init__(self, kind: str = "centroid"):
        if kind not in ("centroid", "neighbour"):
            raise ValueError(f"kind: expected 'centroid' or 'neighbour', got {kind!r}")
        self.kind = kind

    @property
    def name(self) -> str:
        return f"TF-IDF nearest {self.kind}"

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(self.vocab)))                    # (N, F)
        for row, text in enumerate(texts):
            for feature, count in Counter(question_features(text)).items():
                column = self.vocab.get(feature)
                if column is not None:
                    out[row, column] = 1.0 + math.log(count)
        out *= self.idf
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> TfidfIntentBaseline:
        if len(texts) != len(labels) or not texts:
            raise ValueError(f"texts and labels: expected two non-empty lists of the same length, "
                             f"got {len(texts)} and {len(labels)}")
        docs = [set(question_features(t)) for t in texts]
        df = Counter(f for doc in docs for f in doc)
        self.vocab = {f: i for i, f in enumerate(sorted(df))}
        counts = np.array([df[f] for f in sorted(df)], dtype=np.float64)
        self.idf = np.log((1 + len(texts)) / (1 + counts)) + 1.0          # (F,)
        vectors = self._vectors(texts)
        if self.kind == "neighbour":
            self.labels, self.matrix = list(labels), vectors
        else:
            self.labels = sorted(set(labels))
            centroids = np.stack([vectors[[i for i, y in enumerate(labels) if y == label]].mean(0)
                                  for label in self.labels])
            self.matrix = centroids / np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
        return self

    def predict(self, texts: Sequence[str]) -> list[str]:
        similarity = self._vectors(texts) @ self.matrix.T                 # (N, rows of matrix)
        return [self.labels[i] for i in similarity.argmax(axis=1)]

    def accuracy(self, texts: Sequence[str], labels: Sequence[str]) -> float:
        predicted = self.predict(texts)
        return sum(p == y for p, y in zip(predicted, labels)) / max(len(labels), 1)


def intent_baselines(train_texts: Sequence[str], train_labels: Sequence[str], texts: Sequence[str],
                     labels: Sequence[str]) -> dict[str, dict[str, float]]:
    """``{name: {"accuracy": ...}}`` of the nearest-centroid and nearest-neighbour baselines,
    fitted on the training questions and scored on ``texts``.

    Examples:
        >>> train = (["where is my order", "track my parcel", "refund please", "money back"],
        ...          ["track", "track", "refund", "refund"])
        >>> intent_baselines(*train, ["where is my parcel", "I want my money back"], ["track", "refund"])
        {'TF-IDF nearest centroid': {'accuracy': 1.0}, 'TF-IDF nearest neighbour': {'accuracy': 1.0}}
    """
    scores = {}
    for kind in ("centroid", "neighbour"):
        baseline = TfidfIntentBaseline(kind).fit(train_texts, train_labels)
        scores[baseline.name] = {"accuracy": baseline.accuracy(texts, labels)}
    return scores
