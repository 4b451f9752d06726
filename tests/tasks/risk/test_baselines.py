"""The logistic-regression baseline printed beside every risk model."""

from __future__ import annotations

import numpy as np
import pytest

from minitransformer.metrics.classification import roc_auc
from tasks.risk.baselines import LogisticRegression


def test_logistic_regression_baseline_matches_sklearn():
    linear_model = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(0)
    numeric = rng.normal(size=(400, 3)) * [1, 10, 100]
    labels = (numeric @ [1, 0.1, -0.01] + rng.normal(size=400) > 0).astype(int)
    categorical = rng.integers(0, 3, (400, 1))
    ours = LogisticRegression([3], l2=0.0).fit(numeric, categorical, labels, max_iter=500)
    x = ours.features(numeric, categorical).numpy()
    theirs = linear_model.LogisticRegression(C=1e6, max_iter=5000).fit(x, labels)
    assert roc_auc(labels, ours.predict_proba(numeric, categorical)) == pytest.approx(
        roc_auc(labels, theirs.predict_proba(x)[:, 1]), abs=1e-3)


def test_saved_baseline_scores_the_same(tmp_path):
    rng = np.random.default_rng(1)
    numeric, categorical = rng.normal(size=(200, 2)), rng.integers(0, 4, (200, 1))
    labels = (numeric[:, 0] > 0).astype(int)
    model = LogisticRegression([4]).fit(numeric, categorical, labels)
    model.save(tmp_path / "b.safetensors")
    again = LogisticRegression.load(tmp_path / "b.safetensors", [4])
    assert np.allclose(again.predict_proba(numeric, categorical), model.predict_proba(numeric, categorical))
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        LogisticRegression.load(tmp_path / "missing.safetensors", [4])
