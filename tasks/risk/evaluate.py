"""Scoring a trained risk model on a labelled table, beside its baselines.

The report (:func:`evaluate`, ``risk evaluate --json``): ``roc_auc``, ``auprc``, ``precision``,
``recall``, ``f1`` and ``threshold`` (flag a row when its score >= threshold),
``recall_at_1pct_fpr``, ``flagged_rate``, ``positive_rate``, ``cost`` (mean cost per row, when
costs were given), ``baselines`` (``class_prior`` and ``logistic_regression``, each
``roc_auc``/``auprc``), ``scenario_recall`` when the table has a ``fraud_scenario`` column
(simulated data), ``rows`` and ``unknown_categories`` (column -> cells the vocabulary did not
know).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from minitransformer.metrics.classification import (
    average_precision,
    expected_cost,
    precision_recall_f1,
    recall_at_fpr,
    roc_auc,
)
from tasks.risk.data import Table, as_table
from tasks.risk.scorer import RiskScorer, check_scoring_arguments

__all__ = ["evaluate", "evaluate_scores", "SCENARIO_COLUMN"]

SCENARIO_COLUMN = "fraud_scenario"


def evaluate_scores(labels: np.ndarray, scores: np.ndarray, threshold: float,
                    cost_fn: float | None = None, cost_fp: float | None = None) -> dict[str, float]:
    """Ranking metrics, and the decision metrics at ``threshold``; ``labels``, ``scores``: ``(N,)``."""
    flagged = (scores >= threshold).astype(int)
    precision, recall, f1 = precision_recall_f1(labels, flagged)
    report = {"roc_auc": roc_auc(labels, scores), "auprc": average_precision(labels, scores),
              "precision": precision, "recall": recall, "f1": f1, "threshold": float(threshold),
              "recall_at_1pct_fpr": recall_at_fpr(labels, scores, 0.01),
              "flagged_rate": float(flagged.mean()), "positive_rate": float(labels.mean())}
    if cost_fn is not None and cost_fp is not None:
        report["cost"] = expected_cost(labels, flagged, cost_fn, cost_fp)
    return report


def _baselines(model: RiskScorer, data, labels: np.ndarray) -> dict[str, dict[str, float]]:
    baselines = {"class_prior": {"roc_auc": 0.5, "auprc": float(labels.mean())}}
    if model.baseline is not None:
        logreg = model.baseline.predict_proba(data.numeric, data.categorical)
        baselines["logistic_regression"] = {"roc_auc": roc_auc(labels, logreg),
                                            "auprc": average_precision(labels, logreg)}
    return baselines


def evaluate(model: RiskScorer, data: str | Path | Table, batch_size: int = 2048) -> dict:
    """The full report of ``model`` on a labelled table (see the module docstring).

    Args:
        model: what :func:`tasks.risk.load` returns (or ``train(...).model``).
        data: a CSV path or a :class:`~tasks.risk.data.Table` with the target column and the
            columns the model was trained with (others are ignored; missing ones are refused,
            listing the missing and the extra columns). Both classes must occur in it.
        batch_size: rows scored at a time.

    Examples:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from tasks.risk import evaluate, train
        >>> from tasks.risk.config import RiskTrainConfig, risk_encoder
        >>> from tasks.risk.synthetic import SimulatorConfig, write_transactions
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = write_transactions(folder / "tx.csv", SimulatorConfig(customers=40, days=20))
        >>> config = RiskTrainConfig(encoder=risk_encoder(d_model=16, nhead=2, num_layers=1), epochs=1)
        >>> run = train(folder / "tx.csv", folder / "run", config, device="cpu", verbose=False)
        >>> report = evaluate(run.model, folder / "tx.csv")
        >>> sorted(report["baselines"]), 0 <= report["auprc"] <= 1
        (['class_prior', 'logistic_regression'], True)
    """
    check_scoring_arguments(model, batch_size)
    table = as_table(data)
    encoded = model.encode(table, require_target=True)
    labels = encoded.labels
    if labels.min() == labels.max():
        which = "positive" if labels[0] else "negative"
        raise ValueError(f"{table.path}: column {model.schema.target!r} holds only {which} rows; ROC-AUC and "
                         "AUPRC need both classes (score such a file with predict)")
    scores = model.score(encoded, batch_size)
    report = evaluate_scores(labels, scores, model.threshold, model.info.get("cost_fn"),
                             model.info.get("cost_fp"))
    report["baselines"] = _baselines(model, encoded, labels)
    if SCENARIO_COLUMN in table.columns:
        scenario = np.array(table.column(SCENARIO_COLUMN))
        flagged = scores >= model.threshold
        report["scenario_recall"] = {
            name: float(flagged[scenario == name].mean())
            for name in sorted(set(scenario[labels == 1].tolist()))}
    report["rows"] = len(labels)
    report["unknown_categories"] = encoded.unknown
    return report
