"""A trained risk model folder, loaded: the model, its table schema, its threshold, its baseline.

A model folder (written by :func:`tasks.risk.train`) holds ``config.json`` +
``model.safetensors`` (the model, with the table schema and the normalisation statistics),
``risk.json`` (decision threshold, costs, training summary) and
``baseline_logreg.safetensors`` (the logistic-regression baseline, scored beside the model).

A model folder is data, not trust (it may come from anyone): loading reads JSON and safetensors
only, nothing is unpickled; every file is taken through
:func:`~minitransformer.files.model_folder.member_path` (a link leading out of the folder is
refused); the schema and every setting are type-checked, and the size ``config.json`` asks for
is checked against the machine's memory (:func:`~tasks.risk.model.approximate_parameters`)
before a tensor is allocated. Every problem is one line naming the file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from minitransformer import record_attention
from minitransformer.errors import CheckpointError
from minitransformer.files.model_folder import check_fits_in_memory, member_path, read_json
from minitransformer.nn.io import CONFIG_NAME, WEIGHTS_NAME, load_weights
from tasks.risk.baselines import LogisticRegression
from tasks.risk.columns import shown
from tasks.risk.config import RiskModelConfig
from tasks.risk.data import Encoded, Schema, Table, encode
from tasks.risk.model import TabularTransformer, approximate_parameters

__all__ = ["RiskScorer", "load", "check_scoring_arguments", "RISK_INFO", "BASELINE_WEIGHTS"]

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

    def score(self, data: Encoded, batch_size: int = 2048) -> np.ndarray:
        """Probability of the positive class for every row, ``(N,)``, ``batch_size`` rows at a time."""
        return self.model.predict_proba(torch.from_numpy(data.numeric), torch.from_numpy(data.categorical),
                                        batch_size=batch_size).numpy()

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
    info_path = member_path(directory, RISK_INFO)
    if not info_path.is_file():
        raise FileNotFoundError(f"{info_path}: not found; is {directory} a 'risk train' output directory?")
    info = _read_info(info_path)
    config_path = member_path(directory, CONFIG_NAME)
    try:
        config = RiskModelConfig.from_json_file(config_path)
    except RecursionError:                       # [[[[... nested deeper than Python's stack
        raise CheckpointError(f"{config_path}: not valid JSON (nested too deeply)") from None
    except (TypeError, ValueError) as err:       # TypeError: a setting of the wrong type, e.g. "dropout": "x"
        message = str(err)
        named = message if message.startswith(str(config_path)) else f"{config_path}: {message}"
        raise CheckpointError(named) from None
    schema = Schema.from_dict(config.schema, str(config_path))
    check_fits_in_memory(approximate_parameters(config), config_path)
    model = TabularTransformer(config)
    load_weights(model, member_path(directory, WEIGHTS_NAME))
    model.eval()
    cardinalities = [len(schema.vocab[name]) + 1 for name in schema.categorical]
    baseline_path = member_path(directory, BASELINE_WEIGHTS)
    baseline = (LogisticRegression.load(baseline_path, cardinalities, len(schema.numeric))
                if baseline_path.is_file() else None)
    return RiskScorer(model, schema, info, baseline)


def check_scoring_arguments(model, batch_size) -> None:
    """What ``evaluate`` and ``predict`` check first: a loaded model and a positive batch size."""
    if not isinstance(model, RiskScorer):
        raise ValueError(f"model: expected what tasks.risk.load returns, got {type(model).__name__}")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size (--batch-size): expected a positive integer, got {batch_size!r}")


def _read_info(path: Path) -> dict:
    """``risk.json``, with the settings that scoring uses checked (threshold and costs)."""
    info = read_json(path)
    if not isinstance(info, dict):
        raise CheckpointError(f"{path}: expected a JSON object, got {type(info).__name__}")
    threshold = info.get("threshold")
    if not _number(threshold) or not 0.0 <= threshold <= 1.0:
        raise CheckpointError(f"{path}: threshold: expected a number in [0, 1], got {shown(threshold)}")
    for key in ("cost_fn", "cost_fp"):
        if info.get(key) is not None and not (_number(info[key]) and info[key] >= 0):
            raise CheckpointError(f"{path}: {key}: expected a non-negative number or null, "
                                  f"got {shown(info[key])}")
    return info


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
