"""Tables for risk models: read a CSV, type its columns, encode rows as tensors, split them.

**Formats read** (by :func:`read_table`; :func:`as_table` also takes a :class:`Table` built in
memory):

* **any CSV** with a header row and a target column (``default.payment.next.month``,
  ``Class``, ``is_fraud``, ...), comma-separated, UTF-8 (a byte-order mark is allowed), blank
  lines skipped; the target is named with ``target=`` (``--target``);
* **the public card-fraud CSV** (``Time, V1..V28, Amount, Class``): the target ``Class`` is
  found without being named;
* **this head's simulator files** (:mod:`tasks.risk.synthetic`, columns
  ``transaction_id, customer_id, terminal_id, day, ..., is_fraud, fraud_scenario``): the target
  ``is_fraud`` is found without being named, and the ids, the ``day`` and the
  ``fraud_scenario`` are dropped, so the model learns behaviour instead of memorising which
  terminal was compromised last month (:func:`resolve_target`).

Every column but the target (and the dropped ones) is a feature:

* **numeric** when every non-empty cell parses as a number; otherwise (or when listed with
  ``--categorical``) **categorical**. Numeric columns are normalised inside the model from
  statistics of the training rows (see :mod:`tasks.risk.normalize`).
* **categorical** values are mapped to ids ``1..K`` by a vocabulary built on the training rows
  (values seen fewer than ``min_count`` times are left out); id ``0`` is reserved for values
  the vocabulary does not know -- unseen at training time, or too rare. Such values are counted
  per column so ``predict`` can report them.
* **history**: column families such as ``PAY_0, PAY_2..PAY_6`` / ``BILL_AMT1..6`` /
  ``PAY_AMT1..6`` (two or more numeric groups ``<prefix><k>`` of the same length, at least 3)
  are the same quantities at successive time steps; the model turns step ``t`` of every group
  into one time-step token (see :mod:`tasks.risk.model`). A single group such as ``V1..V28`` is
  not a history.

Missing or non-finite numbers (empty cell, ``NA``, ``nan``, ``inf``) stop with an error that
names the column and the row, unless ``impute="median"``: then they become the training median.
A column with no value at all is an error (drop it with ``--drop``).
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Table", "read_table", "as_table", "resolve_target", "infer_schema", "encode", "Encoded",
           "Schema", "stratified_split", "stratified_folds", "detect_history", "MISSING"]

MISSING = {"", "na", "n/a", "nan", "null", "none", "?"}
CARD_FRAUD_COLUMNS = {"Time", "Amount", "Class", *(f"V{k}" for k in range(1, 29))}
SIMULATOR_NOT_FEATURES = ("transaction_id", "fraud_scenario", "customer_id", "terminal_id", "day")
_HISTORY_NAME = re.compile(r"^(.*?)_?(\d+)$")


@dataclass
class Table:
    """A CSV file's header and rows (as strings); ``path`` for error messages."""

    columns: list[str]
    rows: list[list[str]]
    path: str = "<table>"

    def column(self, name: str) -> list[str]:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]


def read_table(path: str | Path) -> Table:
    """Read a CSV with a header; errors name the file and the line of a malformed row."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: data file not found")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise ValueError(f"{path}: the file is empty (expected a CSV header and rows)")
        header = [cell.strip() for cell in header]
        duplicates = sorted(name for name, n in Counter(header).items() if n > 1)
        if duplicates:
            raise ValueError(f"{path}: duplicate column name(s) {duplicates} in the header")
        rows = []
        for row in reader:
            if not row:  # a blank line
                continue
            if len(row) != len(header):
                raise ValueError(f"{path}, line {reader.line_num}: expected {len(header)} fields "
                                 f"as in the header, got {len(row)}")
            rows.append([cell.strip() for cell in row])
    if not rows:
        raise ValueError(f"{path}: the file has a header but no data rows")
    return Table(header, rows, str(path))


def as_table(data: str | Path | Table) -> Table:
    """``data`` itself when it is a :class:`Table`, else the CSV file at that path."""
    return data if isinstance(data, Table) else read_table(data)


def resolve_target(table: Table, target: str | None, drop=()) -> tuple[str, list[str]]:
    """The target column and the columns to drop: as given, or found for the two known layouts.

    Examples:
        >>> table = Table(["Time", *(f"V{k}" for k in range(1, 29)), "Amount", "Class"], [])
        >>> resolve_target(table, None)
        ('Class', [])
    """
    drop = list(drop)
    if target is not None:
        return target, drop
    if CARD_FRAUD_COLUMNS <= set(table.columns):
        return "Class", drop
    if {"is_fraud", "fraud_scenario"} <= set(table.columns):
        return "is_fraud", drop + [c for c in SIMULATOR_NOT_FEATURES if c in table.columns and c not in drop]
    raise ValueError(f"{table.path}: name the target column (--target COLUMN); columns found: "
                     f"{', '.join(table.columns)}")


def _as_number(text: str) -> float | None:
    """The cell as a float, ``nan`` for a missing/non-finite marker, ``None`` if not a number."""
    if text.lower() in MISSING:
        return math.nan
    try:
        return float(text)
    except ValueError:
        return None


def detect_history(numeric: list[str]) -> list[list[str]]:
    """Groups ``<prefix><k>`` of equal length (>= 3) that occur at least twice, steps in order."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for name in numeric:
        match = _HISTORY_NAME.match(name)
        if match and match.group(1):
            groups.setdefault(match.group(1), []).append((int(match.group(2)), name))
    by_length: dict[int, list[list[str]]] = {}
    for members in groups.values():
        if len(members) >= 3:
            by_length.setdefault(len(members), []).append([name for _, name in sorted(members)])
    return [g for length, gs in sorted(by_length.items()) if len(gs) >= 2 for g in gs]


@dataclass
class Schema:
    """How to turn a table row into model inputs; saved with the model (JSON-ready)."""

    target: str
    positive: str
    negative_values: list[str]
    numeric: list[str]
    categorical: list[str]
    vocab: dict[str, list[str]]
    history: list[list[str]] = field(default_factory=list)
    impute: str = "error"
    medians: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _label_values(table: Table, target: str, positive: str | None) -> tuple[str, list[str]]:
    """The positive label and the other labels of the target column."""
    if target not in table.columns:
        raise ValueError(f"{table.path}: target column {target!r} not found; columns found: "
                         f"{', '.join(table.columns)}")
    counts = Counter(table.column(target))
    if len(counts) < 2:
        raise ValueError(f"{table.path}: target column {target!r} has only one class "
                         f"({next(iter(counts))!r}); a risk model needs positives and negatives")
    if positive is not None:
        if positive not in counts:
            raise ValueError(f"--positive {positive!r}: not a value of column {target!r} "
                             f"(values: {sorted(counts)[:10]})")
    elif len(counts) > 2:
        raise ValueError(f"target column {target!r} has {len(counts)} values; name the positive "
                         f"class with --positive (values: {sorted(counts)[:10]})")
    else:
        numbers = {value: _as_number(value) for value in counts}
        ones = [value for value, number in numbers.items() if number == 1.0]
        # 0/1 (or false/true) targets: 1 is positive; otherwise the rarer class is
        positive = ones[0] if ones else min(counts, key=lambda v: (counts[v], v))
        lowered = {v.lower(): v for v in counts}
        if not ones and "true" in lowered:
            positive = lowered["true"]
    return positive, sorted(v for v in counts if v != positive)


def infer_schema(table: Table, target: str, rows: np.ndarray | None = None, positive: str | None = None,
                 drop: list[str] = (), categorical: list[str] = (), impute: str = "error",
                 history: bool = True, min_count: int = 2) -> Schema:
    """Type the columns and fit vocabularies/medians on ``rows`` (indices; default all rows)."""
    if impute not in ("error", "median"):
        raise ValueError(f"--impute: expected 'error' or 'median', got {impute!r}")
    for name in [*drop, *categorical]:
        if name not in table.columns:
            raise ValueError(f"{table.path}: column {name!r} (from --drop/--categorical) not found; "
                             f"columns found: {', '.join(table.columns)}")
    positive, negatives = _label_values(table, target, positive)
    fit_rows = [table.rows[i] for i in rows] if rows is not None else table.rows
    numeric, cats, vocab, medians = [], [], {}, {}
    for j, name in enumerate(table.columns):
        if name == target or name in drop:
            continue
        cells = [row[j] for row in fit_rows]
        if all(cell.lower() in MISSING for cell in cells):
            raise ValueError(f"{table.path}: column {name!r} has no values (every cell is missing); "
                             f"drop it with --drop {name}")
        numbers = [_as_number(cell) for cell in cells]
        if name in categorical or any(number is None for number in numbers):
            cats.append(name)
            counts = Counter(cells)
            vocab[name] = sorted(value for value, n in counts.items() if n >= min_count)
        else:
            numeric.append(name)
            values = np.array(numbers, dtype=np.float64)
            finite = values[np.isfinite(values)]
            medians[name] = float(np.median(finite))
    groups = detect_history(numeric) if history else []
    return Schema(target, positive, negatives, numeric, cats, vocab, groups, impute, medians)


@dataclass
class Encoded:
    """A table as tensors' worth of numpy arrays.

    Attributes:
        numeric: ``(N, F_num)`` float32 raw numbers (normalised later, inside the model).
        categorical: ``(N, F_cat)`` int64 ids, 0 = unknown.
        labels: ``(N,)`` int64 0/1, or ``None`` when the table has no target column.
        unknown: column -> number of cells mapped to the unknown id.
        imputed: column -> number of cells filled with the median.
    """

    numeric: np.ndarray
    categorical: np.ndarray
    labels: np.ndarray | None
    unknown: dict[str, int]
    imputed: dict[str, int]

    def __len__(self) -> int:
        return len(self.numeric)


def encode(table: Table, schema: Schema, require_target: bool = True) -> Encoded:
    """Rows of ``table`` -> arrays following ``schema`` (columns found by name)."""
    needed = schema.numeric + schema.categorical + ([schema.target] if require_target else [])
    missing = [name for name in needed if name not in table.columns]
    if missing:
        raise ValueError(f"{table.path}: column(s) {missing} expected by the model not found; "
                         f"columns found: {', '.join(table.columns)}")
    n = len(table.rows)
    numeric = np.zeros((n, len(schema.numeric)), dtype=np.float32)
    imputed: dict[str, int] = {}
    for k, name in enumerate(schema.numeric):
        j = table.columns.index(name)
        for i, row in enumerate(table.rows):
            number = _as_number(row[j])
            if number is None or not math.isfinite(number):
                what = "not a number" if number is None else "missing or non-finite"
                if number is None or schema.impute != "median":
                    hint = "" if number is None else " (or train with --impute median)"
                    raise ValueError(f"{table.path}: column {name!r}, row {i + 1} (line {i + 2}): "
                                     f"{what} value {row[j]!r}{hint}")
                number = schema.medians[name]
                imputed[name] = imputed.get(name, 0) + 1
            numeric[i, k] = number
    categorical = np.zeros((n, len(schema.categorical)), dtype=np.int64)
    unknown: dict[str, int] = {}
    for k, name in enumerate(schema.categorical):
        j = table.columns.index(name)
        ids = {value: index + 1 for index, value in enumerate(schema.vocab[name])}
        for i, row in enumerate(table.rows):
            categorical[i, k] = ids.get(row[j], 0)
        unseen = int((categorical[:, k] == 0).sum())
        if unseen:
            unknown[name] = unseen
    labels = None
    if schema.target in table.columns:
        raw = table.column(schema.target)
        known = {schema.positive, *schema.negative_values}
        for i, value in enumerate(raw):
            if value not in known:
                raise ValueError(f"{table.path}: column {schema.target!r}, row {i + 1} (line {i + 2}): "
                                 f"unknown label {value!r}; expected one of {sorted(known)}")
        labels = np.array([value == schema.positive for value in raw], dtype=np.int64)
    return Encoded(numeric, categorical, labels, unknown, imputed)


def stratified_split(labels: np.ndarray, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(rest, part)`` with ``part`` holding ``fraction`` of each class (seeded)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"split fraction: expected a value in (0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    part = []
    for value in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == value))
        take = max(1, round(fraction * len(members))) if len(members) > 1 else 0
        part.append(members[:take])
    part = np.sort(np.concatenate(part))
    rest = np.setdiff1d(np.arange(len(labels)), part)
    return rest, part


def stratified_folds(labels: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """``(N,)`` fold ids in ``0..k-1``: each class dealt round-robin over the folds after a seeded
    shuffle, so every fold has about ``1/k`` of each class."""
    if k < 2 or k > len(labels):
        raise ValueError(f"folds: expected 2 <= k <= {len(labels)} rows, got k={k}")
    rng = np.random.default_rng(seed)
    fold = np.empty(len(labels), dtype=np.int64)
    for value in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == value))
        fold[members] = np.arange(len(members)) % k
    return fold
