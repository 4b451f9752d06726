"""Dependency-free baselines: TF-IDF nearest intent centroid; TF-IDF pair features + LR for matching.

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

**Question pairs**: :class:`TfidfPairBaseline` (character TF-IDF pair features + logistic
regression), fitted when a matcher is trained, kept in its folder and scored beside it by
:func:`tasks.qa.evaluate`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

__all__ = ["TfidfIntentBaseline", "question_features", "intent_baselines", "TfidfPairBaseline",
           "pair_features", "pair_baseline"]

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


# ----------------------------------------------------------------------------- question pairs
def pair_features(text: str) -> Counter:
    """Counts of the character 1- and 2-grams of the lower-cased text (spaces kept), the
    features of :class:`TfidfPairBaseline`.

    Examples:
        >>> sorted(pair_features("花呗花"))
        ['呗', '呗花', '花', '花呗']
    """
    folded = text.lower()
    return Counter(folded[i:i + n] for n in (1, 2) for i in range(len(folded) - n + 1))


class TfidfPairBaseline:
    """Character TF-IDF pair features + logistic regression: the lexical baseline of question
    matching, what a Transformer matcher has to beat (NumPy only).

    Each question becomes a TF-IDF vector of its character 1-2-grams (sublinear ``tf``, smoothed
    ``idf`` as above, L2-normalised), fitted on the training questions. A pair ``(a, b)`` becomes

        f(a, b) = [ |a - b|,  a ⊙ b,  cos(a, b) ]                                 (2F + 1,)
        p(same) = σ(w · f + c)

    with ``w, c`` the L2-regularised logistic regression (``C = 1``, the intercept unpenalised)
    fitted by Newton-free full-batch gradient steps (Adam). ``|a - b|`` learns which characters
    differing break a match; ``a ⊙ b`` which shared ones make it. Symmetric in ``a`` and ``b``.
    """

    name = "char TF-IDF + LR"

    def _vector(self, text: str) -> dict[int, float]:
        vector = {self.vocab[f]: (1.0 + math.log(c)) * self.idf[self.vocab[f]]
                  for f, c in pair_features(text).items() if f in self.vocab}
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        return {k: v / norm for k, v in vector.items()}

    def _design(self, pairs: Sequence[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sparse rows: (row index, column, value) arrays of ``f(a, b)`` for every pair."""
        width = len(self.vocab)
        rows, cols, vals = [], [], []
        for r, (a, b) in enumerate(pairs):
            va, vb = self._vector(a), self._vector(b)
            cosine = 0.0
            for k in va.keys() | vb.keys():
                x, y = va.get(k, 0.0), vb.get(k, 0.0)
                if x != y:
                    rows.append(r), cols.append(k), vals.append(abs(x - y))
                if x and y:
                    rows.append(r), cols.append(width + k), vals.append(x * y)
                    cosine += x * y
            rows.append(r), cols.append(2 * width), vals.append(cosine)
        return np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64), np.array(vals)

    def _logits(self, design, n: int) -> np.ndarray:
        rows, cols, vals = design
        return np.bincount(rows, weights=vals * self.weights[cols], minlength=n) + self.bias  # (N,)

    def fit(self, pairs: Sequence[tuple[str, str, int]], c: float = 1.0, steps: int = 400,
            lr: float = 0.05) -> TfidfPairBaseline:
        """Fit the TF-IDF table on the training questions and the regression on the pairs."""
        labels = np.array([float(y) for *_, y in pairs])
        if len(pairs) < 2 or labels.min() == labels.max():
            raise ValueError("pairs: the baseline needs pairs of both labels")
        texts = [t for a, b, _ in pairs for t in (a, b)]
        df = Counter(f for t in texts for f in pair_features(t))
        self.vocab = {f: i for i, f in enumerate(sorted(df))}
        counts = np.array([df[f] for f in sorted(df)], dtype=np.float64)
        self.idf = np.log((1 + len(texts)) / (1 + counts)) + 1.0  # (F,)
        design = self._design([(a, b) for a, b, _ in pairs])
        n = len(pairs)
        self.weights, self.bias = np.zeros(2 * len(self.vocab) + 1), 0.0
        m, v = np.zeros(len(self.weights) + 1), np.zeros(len(self.weights) + 1)
        rows, cols, vals = design
        for step in range(1, steps + 1):  # Adam on  C·Σ log-loss + ½‖w‖²
            p = 1.0 / (1.0 + np.exp(-self._logits(design, n)))  # (N,)
            residual = c * (p - labels)  # (N,)
            grad = np.append(np.bincount(cols, weights=vals * residual[rows], minlength=len(self.weights))
                             + self.weights, residual.sum())
            m = 0.9 * m + 0.1 * grad
            v = 0.999 * v + 0.001 * grad**2
            update = lr * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
            self.weights -= update[:-1]
            self.bias -= update[-1]
        return self

    def logits(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """``(N,)`` log-odds ``w · f + c`` that each pair means the same."""
        return self._logits(self._design(pairs), len(pairs))

    def scores(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """``(N,)`` probabilities that each pair means the same."""
        return 1.0 / (1.0 + np.exp(-self.logits(pairs)))

    def to_dict(self) -> dict:
        """The fitted baseline as JSON-ready lists (a matcher's folder keeps it in ``baseline.json``)."""
        return {"kind": "tfidf_pair_lr", "features": list(self.vocab), "idf": self.idf.tolist(),
                "weights": self.weights.tolist(), "bias": float(self.bias)}

    @classmethod
    def from_dict(cls, data, source) -> TfidfPairBaseline:
        """Rebuild from :meth:`to_dict`; anything malformed is a ``ValueError`` naming ``source``."""
        try:
            features, idf, weights, bias = data["features"], data["idf"], data["weights"], data["bias"]
            ok = (data.get("kind") == "tfidf_pair_lr" and all(isinstance(f, str) for f in features)
                  and len(set(features)) == len(features) == len(idf) and len(weights) == 2 * len(idf) + 1)
            baseline = cls()
            baseline.vocab = {f: i for i, f in enumerate(features)}
            baseline.idf = np.asarray(idf, dtype=np.float64)
            baseline.weights = np.asarray(weights, dtype=np.float64)
            baseline.bias = float(bias)
            ok = ok and np.isfinite(baseline.idf).all() and np.isfinite(baseline.weights).all()
            ok = ok and math.isfinite(baseline.bias) and baseline.idf.ndim == baseline.weights.ndim == 1
        except (KeyError, TypeError, ValueError, AttributeError):
            ok = False
        if not ok:
            raise ValueError(f"{source}: not a TF-IDF pair baseline (expected kind 'tfidf_pair_lr', "
                             "distinct features, one finite idf per feature and 2F+1 finite weights)")
        return baseline


def pair_baseline(train: Sequence[tuple[str, str, int]], pairs: Sequence[tuple[str, str, int]],
                  threshold: float | None = None) -> dict[str, dict[str, float]]:
    """``{"char TF-IDF + LR": {"roc_auc", "accuracy"}}``: :class:`TfidfPairBaseline` fitted on
    ``train`` and scored on ``pairs`` (accuracy at ``threshold``, by default 0.5)."""
    from minitransformer.metrics.classification import roc_auc

    baseline = TfidfPairBaseline().fit(train)
    scores = baseline.scores([(a, b) for a, b, _ in pairs])
    truth = [y for *_, y in pairs]
    cut = 0.5 if threshold is None else threshold
    return {baseline.name: {"roc_auc": roc_auc(truth, scores),
                            "accuracy": float(np.mean((scores >= cut) == np.array(truth, dtype=bool)))}}
