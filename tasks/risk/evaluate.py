"""Loading a trained risk model, scoring a table, and the evaluation report.

A run directory holds ``config.json`` + ``model.safetensors`` (the model, with the table schema
and normalisation statistics), ``risk.json`` (decision threshold, costs, training summary) and
``baseline_logreg.safetensors`` (the logistic-regression baseline, scored beside the model).

The report (``evaluate --json``): ``roc_auc``, ``auprc``, ``precision``, ``recall``, ``f1`` and
``threshold`` (flag a row when its score >= threshold), ``recall_at_1pct_fpr``, ``cost`` (mean
cost per row, when costs were given), ``baselines`` (``class_prior`` and
``logistic_regression``, each ``roc_auc``/``auprc``), and ``scenario_recall`` when the table has a
``fraud_scenario`` column (simulated data).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from minitransformer import record_attention
from minitransformer.metrics.classification import (
    average_precision,
    expected_cost,
    precision_recall_f1,
    recall_at_fpr,
    roc_auc,
)
from tasks.risk.baselines import LogisticRegression
from tasks.risk.data import Encoded, Schema, Table, encode
from tasks.risk.model import TabularTransformer
from tasks.risk.train import BASELINE_WEIGHTS, RISK_INFO

__all__ = ["RiskRun", "load_run", "evaluate_scores", "SCENARIO_COLUMN"]

SCENARIO_COLUMN = "fraud_scenario"


@dataclass
class RiskRun:
    """A trained model with everything needed to score and decide."""

    model: TabularTransformer
    schema: Schema
    info: dict
    baseline: LogisticRegression | None

    @property
    def threshold(self) -> float:
        return float(self.info["threshold"])

    def encode(self, table: Table, require_target: bool) -> Encoded:
        return encode(table, self.schema, require_target=require_target)

    def score(self, data: Encoded) -> np.ndarray:
        """Probability of the positive class for every row, ``(N,)``."""
        return self.model.predict_proba(torch.from_numpy(data.numeric),
                                        torch.from_numpy(data.categorical)).numpy()

    def explain(self, data: Encoded, top_k: int = 3, batch_size: int = 1024) -> list[list[tuple[str, float]]]:
        """For every row, the ``top_k`` tokens ``[CLS]`` attended to most, with their weights.

        The weight of token ``j`` is the attention from ``[CLS]`` (query 0) to key ``j``,
        averaged over heads and layers, ``mean_{l,h} A[l][b, h, 0, j]``; ``[CLS]`` itself is left
        out. Attention shows where the model looked, not why it decided: read it as a hint.
        """
        names = self.model.token_names()
        numeric, categorical = torch.from_numpy(data.numeric), torch.from_numpy(data.categorical)
        weights = []
        self.model.eval()
        with torch.no_grad(), record_attention(self.model) as maps:
            for i in range(0, len(numeric), batch_size):
                self.model(numeric[i:i + batch_size], categorical[i:i + batch_size])
                from_cls = torch.stack([m[:, :, 0, 1:] for m in maps.values()])   # (L, B, H, T-1)
                weights.append(from_cls.mean(dim=(0, 2)))                         # (B, T-1)
        weights = torch.cat(weights)
        values, order = weights.topk(min(top_k, weights.shape[1]), dim=1)
        return [[(names[1 + j], float(v)) for j, v in zip(row_order, row_values)]
                for row_order, row_values in zip(order.tolist(), values.tolist())]


def load_run(directory: str | Path) -> RiskRun:
    """Load a run directory written by ``risk train``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: model directory not found")
    info_path = directory / RISK_INFO
    if not info_path.is_file():
        raise FileNotFoundError(f"{info_path}: not found; is {directory} a 'risk train' output directory?")
    model = TabularTransformer.from_pretrained(directory)
    model.eval()
    schema = Schema(**model.config.schema)
    info = json.loads(info_path.read_text(encoding="utf-8"))
    cardinalities = [len(schema.vocab[name]) + 1 for name in schema.categorical]
    baseline_path = directory / BASELINE_WEIGHTS
    baseline = LogisticRegression.load(baseline_path, cardinalities) if baseline_path.is_file() else None
    return RiskRun(model, schema, info, baseline)


def evaluate_scores(labels: np.ndarray, scores: np.ndarray, threshold: float,
                    cost_fn: float | None = None, cost_fp: float | None = None) -> dict[str, float]:
    """Ranking metrics, and the decision metrics at ``threshold``."""
    flagged = (scores >= threshold).astype(int)
    precision, recall, f1 = precision_recall_f1(labels, flagged)
    report = {"roc_auc": roc_auc(labels, scores), "auprc": average_precision(labels, scores),
              "precision": precision, "recall": recall, "f1": f1, "threshold": float(threshold),
              "recall_at_1pct_fpr": recall_at_fpr(labels, scores, 0.01),
              "flagged_rate": float(flagged.mean()), "positive_rate": float(labels.mean())}
    if cost_fn is not None and cost_fp is not None:
        report["cost"] = expected_cost(labels, flagged, cost_fn, cost_fp)
    return report


def evaluate_table(run: RiskRun, table: Table) -> dict:
    """The full report for a labelled table (see the module docstring)."""
    data = run.encode(table, require_target=True)
    scores = run.score(data)
    labels = data.labels
    report = evaluate_scores(labels, scores, run.threshold, run.info.get("cost_fn"), run.info.get("cost_fp"))
    baselines = {"class_prior": {"roc_auc": 0.5, "auprc": float(labels.mean())}}
    if run.baseline is not None:
        logreg = run.baseline.predict_proba(data.numeric, data.categorical)
        baselines["logistic_regression"] = {"roc_auc": roc_auc(labels, logreg),
                                            "auprc": average_precision(labels, logreg)}
    report["baselines"] = baselines
    if SCENARIO_COLUMN in table.columns:
        scenario = np.array(table.column(SCENARIO_COLUMN))
        flagged = scores >= run.threshold
        report["scenario_recall"] = {
            name: float(flagged[scenario == name].mean())
            for name in sorted(set(scenario[labels == 1].tolist()))}
    report["rows"] = len(labels)
    report["unknown_categories"] = data.unknown
    return report
