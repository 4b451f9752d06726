"""A trained risk model folder, loaded: the model, its table schema, its threshold, its baseline.

A model folder (written by :func:`tasks.risk.train`) holds ``config.json`` +
``model.safetensors`` (the model, with the table schema and the normalisation statistics),
``risk.json`` (decision threshold, costs, training summary) and
``baseline_logreg.safetensors`` (the logistic-regression baseline, scored beside the model).
Loading reads JSON and safetensors only; nothing is unpickled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from minitransformer import record_attention
from tasks.risk.baselines import LogisticRegression
from tasks.risk.data import Encoded, Schema, Table, encode
from tasks.risk.model import TabularTransformer

__all__ = ["RiskScorer", "load", "RISK_INFO", "BASELINE_WEIGHTS"]

RISK_INFO = "risk.json"
BASELINE_WEIGHTS = "baseline_logreg.safetensors"


@dataclass
class RiskScorer:
    """A trained model with everything needed to score and decide.

    Attributes:
        model: the :class:`~tasks.risk.model.TabularTransformer`, in eval mode.
        schema: how a table's rows become its inputs.
        info: the contents of ``risk.json`` (threshold, costs, training summary).
        baseline: the logistic regression trained on the same rows, or ``None``.
    """

    model: TabularTransformer
    schema: Schema
    info: dict
    baseline: LogisticRegression | None

    @property
    def threshold(self) -> float:
        """Flag a row when its score is at least this (chosen on the validation rows)."""
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


def load(model_dir: str | Path) -> RiskScorer:
    """Load a model folder written by :func:`tasks.risk.train` (``minitransformer risk train``).

    Examples:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from tasks.risk import load, train
        >>> from tasks.risk.config import RiskTrainConfig, risk_encoder
        >>> from tasks.risk.synthetic import SimulatorConfig, write_transactions
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = write_transactions(folder / "tx.csv", SimulatorConfig(customers=40, days=20))
        >>> config = RiskTrainConfig(encoder=risk_encoder(d_model=16, nhead=2, num_layers=1), epochs=1)
        >>> _ = train(folder / "tx.csv", folder / "run", config, device="cpu", verbose=False)
        >>> model = load(folder / "run")
        >>> model.schema.target, model.model.config.encoder.attention_backend, 0 < model.threshold < 1
        ('is_fraud', 'manual', True)
    """
    directory = Path(model_dir)
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
    return RiskScorer(model, schema, info, baseline)
