"""Scores, decisions and (optionally) attention hints for every row of a table.

:func:`predict` returns what ``minitransformer risk predict`` writes, one CSV row per table
row: an id, the score (probability of fraud or default), whether it is flagged at the model's
threshold, and with ``explain=K`` the ``K`` input tokens ``[CLS]`` attended to most.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tasks.risk.data import Table, as_table
from tasks.risk.scorer import RiskScorer, check_scoring_arguments

__all__ = ["Predictions", "predict"]


@dataclass
class Predictions:
    """The model's view of every row of a table.

    Attributes:
        ids: the ``id_column``'s values, or ``"1".."N"`` (row numbers).
        scores: ``(N,)`` probability of the positive class.
        flagged: ``(N,)`` bool, ``scores >= threshold``.
        threshold: the model's decision threshold.
        reasons: with ``explain=K``, for every row the ``K`` ``(token name, attention weight)``
            pairs ``[CLS]`` attended to most; else ``None``.
        unknown: column -> number of cells whose category the model does not know.
        id_column: the column ``ids`` came from, or ``None``.
    """

    ids: list[str]
    scores: np.ndarray
    flagged: np.ndarray
    threshold: float
    reasons: list[list[tuple[str, float]]] | None
    unknown: dict[str, int]
    id_column: str | None = None


def predict(model: RiskScorer, data: str | Path | Table, explain: int = 0,
            id_column: str | None = None, batch_size: int = 2048) -> Predictions:
    """Score every row of ``data``.

    Args:
        model: what :func:`tasks.risk.load` returns (or ``train(...).model``).
        data: a CSV path or a :class:`~tasks.risk.data.Table` with the columns the model was
            trained with (the target may be absent or empty and is not read; missing columns are
            refused, listing the missing and the extra ones). Columns left out as ids at
            training time are not read either.
        explain: how many attended-to tokens to report per row (0: none).
        id_column: a column whose values name the rows.
        batch_size: rows scored at a time.

    Examples:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from tasks.risk import predict, train
        >>> from tasks.risk.config import RiskTrainConfig, risk_encoder
        >>> from tasks.risk.synthetic import SimulatorConfig, write_transactions
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = write_transactions(folder / "tx.csv", SimulatorConfig(customers=40, days=20))
        >>> config = RiskTrainConfig(encoder=risk_encoder(d_model=16, nhead=2, num_layers=1), epochs=1)
        >>> run = train(folder / "tx.csv", folder / "run", config, device="cpu", verbose=False)
        >>> found = predict(run.model, folder / "tx.csv", explain=2, id_column="transaction_id")
        >>> found.ids[:3], found.scores.shape == found.flagged.shape, len(found.reasons[0])
        (['0', '1', '2'], True, 2)
    """
    check_scoring_arguments(model, batch_size)
    if not isinstance(explain, int) or isinstance(explain, bool) or explain < 0:
        raise ValueError(f"explain (--explain): expected a non-negative number of tokens, got {explain!r}")
    table = as_table(data)
    if id_column is not None and id_column not in table.columns:
        raise ValueError(f"--id-column {id_column!r}: not a column of {table.path}")
    encoded = model.encode(table, require_target=False)
    scores = model.score(encoded, batch_size)
    ids = table.column(id_column) if id_column else [str(i + 1) for i in range(len(scores))]
    reasons = model.explain(encoded, explain, batch_size) if explain else None
    return Predictions(ids, scores, scores >= model.threshold, model.threshold, reasons, encoded.unknown,
                       id_column)
