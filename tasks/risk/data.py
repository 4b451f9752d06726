"""Tables for risk models: read a CSV, type its columns, encode rows as tensors, split them.

**Formats read** (by :func:`read_table`, through the project's one CSV reader
:func:`minitransformer.files.tables.read_csv`; :func:`as_table` also takes a :class:`Table`
built in memory):

* **any CSV** with a header row and a target column (``default.payment.next.month``,
  ``Class``, ``is_fraud``, ...), comma-separated, UTF-8 (a byte-order mark is allowed), blank
  lines skipped, fields of any length; the target is named with ``target=`` (``--target``).
  Duplicate column names, bytes that are not UTF-8, NUL bytes and rows with more or fewer fields
  than the header are refused, naming the file and the line;
* **the public card-fraud CSV** (``Time, V1..V28, Amount, Class``): the target ``Class`` is
  found without being named;
* **this head's simulator files** (:mod:`tasks.risk.synthetic`, columns
  ``transaction_id, customer_id, terminal_id, day, ..., is_fraud, fraud_scenario``): the target
  ``is_fraud`` is found without being named, and the ids, the ``day`` and the
  ``fraud_scenario`` are dropped, so the model learns behaviour instead of memorising which
  terminal was compromised last month (:func:`resolve_target`).

Every column but the target (and the dropped ones) is typed by the rules of
:mod:`tasks.risk.columns`: a **time** (ISO-8601 or Unix seconds; its hour of day and weekday
become numeric features), an **id** (a different value in every row: not a feature, recorded
in the schema so that evaluation and prediction ignore it too), a **number** or a **category**:

* **numeric** columns are normalised inside the model from statistics of the training rows
  (see :mod:`tasks.risk.normalize`).
* **categorical** values are mapped to ids ``1..K`` by a vocabulary built on the training rows
  (values seen fewer than ``min_count`` times are left out); id ``0`` is reserved for values
  the vocabulary does not know -- unseen at training time, or too rare. Such values are counted
  per column so ``predict`` can report them. An empty cell is a value like any other.
* **history**: column families such as ``PAY_0, PAY_2..PAY_6`` / ``BILL_AMT1..6`` /
  ``PAY_AMT1..6`` (two or more numeric groups ``<prefix><k>`` of the same length, at least 3)
  are the same quantities at successive time steps; the model turns step ``t`` of every group
  into one time-step token (see :mod:`tasks.risk.model`). A single group such as ``V1..V28`` is
  not a history.

Missing or non-finite numbers (empty cell, ``NA``, ``nan``, ``inf``, or beyond the float32
range) and missing times (empty cells) stop with an error that names the file, the line and the
column, unless ``impute="median"``: then they become the training median. A column with no
value at all is an error (drop it with ``--drop``); so is an empty target cell.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from minitransformer.files.tables import compare_columns, read_csv
from tasks.risk.columns import (
    MISSING,
    TIME_PARTS,
    as_number,
    id_like_reason,
    looks_like_time,
    parse_time,
    shown,
    time_feature,
)

__all__ = ["Table", "read_table", "as_table", "resolve_target", "infer_schema", "encode", "Encoded",
           "Schema", "stratified_split", "stratified_folds", "detect_history", "MISSING"]

CARD_FRAUD_COLUMNS = {"Time", "Amount", "Class", *(f"V{k}" for k in range(1, 29))}
SIMULATOR_NOT_FEATURES = ("transaction_id", "fraud_scenario", "customer_id", "terminal_id", "day")
_HISTORY_NAME = re.compile(r"^(.*?)_?(\d+)$")
_FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass
class Table:
    """A CSV file's header and rows (as strings); ``path`` names it in error messages and
    ``lines`` holds each row's line number in the file (``None`` for a table built in memory,
    whose rows are then named by number)."""

    columns: list[str]
    rows: list[list[str]]
    path: str = "<table>"
    lines: list[int] | None = None

    def column(self, name: str) -> list[str]:
        """Every row's value of column ``name``."""
        if name not in self.columns:
            raise ValueError(f"{self.path}: no column {name!r}; columns found: {', '.join(self.columns)}")
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def where(self, i: int) -> str:
        """Where row ``i`` (0-based) is, for a message: ``"t.csv, line 7"`` or ``"<table>, row 6"``."""
        if self.lines is not None:
            return f"{self.path}, line {self.lines[i]}"
        return f"{self.path}, row {i + 1}"


def read_table(path: str | Path) -> Table:
    """Read a CSV with a header; every problem is one line naming the file (and the line)."""
    csv_file = read_csv(path)
    return Table(csv_file.header, [fields for _, fields in csv_file.rows], str(path),
                 [line for line, _ in csv_file.rows])


def as_table(data: str | Path | Table) -> Table:
    """``data`` itself when it is a well-formed :class:`Table`, else the CSV file at that path."""
    if isinstance(data, Table):
        _check_table(data)
        return data
    if not isinstance(data, str | Path):
        raise ValueError(f"data: expected a CSV path or a tasks.risk.data.Table, got {type(data).__name__}")
    return read_table(data)


def _check_table(table: Table) -> None:
    """A table built in memory: unique text column names, every row a list of texts as long as the
    header (what :func:`read_table` guarantees for a file)."""
    if not all(isinstance(name, str) for name in table.columns):
        raise ValueError(f"{table.path}: column names must be text, got {table.columns!r}")
    twice = [name for name, n in Counter(table.columns).items() if n > 1]
    if twice:
        raise ValueError(f"{table.path}: column {twice[0]!r} appears {table.columns.count(twice[0])} times; "
                         "column names must be unique")
    if not table.rows:
        raise ValueError(f"{table.path}: the table has no rows")
    if table.lines is not None and len(table.lines) != len(table.rows):
        raise ValueError(f"{table.path}: {len(table.lines)} line numbers for {len(table.rows)} rows")
    for i, row in enumerate(table.rows):
        if len(row) != len(table.columns):
            raise ValueError(f"{table.where(i)}: expected {len(table.columns)} fields as in the header, "
                             f"got {len(row)}")
        if not all(isinstance(cell, str) for cell in row):
            bad = next(cell for cell in row if not isinstance(cell, str))
            raise ValueError(f"{table.where(i)}: every cell must be text (str), got {type(bad).__name__} "
                             f"{bad!r}")


def resolve_target(table: Table, target: str | None, drop=()) -> tuple[str, list[str]]:
    """The target column and the columns to drop: as given, or found for the two known layouts.

    Examples:
        >>> table = Table(["Time", *(f"V{k}" for k in range(1, 29)), "Amount", "Class"], [])
        >>> resolve_target(table, None)
        ('Class', [])
    """
    drop = [drop] if isinstance(drop, str) else list(drop)
    if target is not None:
        if not isinstance(target, str) or not target:
            raise ValueError(f"--target: expected a column name, got {target!r}")
        return target, drop
    if CARD_FRAUD_COLUMNS <= set(table.columns):
        return "Class", drop
    if {"is_fraud", "fraud_scenario"} <= set(table.columns):
        return "is_fraud", drop + [c for c in SIMULATOR_NOT_FEATURES if c in table.columns and c not in drop]
    raise ValueError(f"{table.path}: name the target column (--target COLUMN); columns found: "
                     f"{', '.join(table.columns)}")


def _check_names(table: Table, option: str, names) -> list[str]:
    """``names`` as a list of column names of ``table``; a bare string is one name."""
    names = [names] if isinstance(names, str) else list(names)
    for name in names:
        if not isinstance(name, str):
            raise ValueError(f"{option}: expected column names, got {name!r}")
        if name not in table.columns:
            raise ValueError(f"{table.path}: column {name!r} (from {option}) not found; columns found: "
                             f"{', '.join(table.columns)}")
    return names


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
    """How to turn a table row into model inputs; saved with the model (JSON-ready).

    ``numeric`` and ``categorical`` are the features in model order; a time column ``c`` (see
    :mod:`tasks.risk.columns`) gives the numeric features ``c.hour`` / ``c.weekday`` listed in
    ``times[c]``; ``id_like`` maps each column left out as an id to the reason; ``columns`` is
    the training file's header. Model folders written before ``times``, ``id_like`` and
    ``columns`` existed load with them empty.
    """

    target: str
    positive: str
    negative_values: list[str]
    numeric: list[str]
    categorical: list[str]
    vocab: dict[str, list[str]]
    history: list[list[str]] = field(default_factory=list)
    impute: str = "error"
    medians: dict[str, float] = field(default_factory=dict)
    times: dict[str, list[str]] = field(default_factory=dict)
    id_like: dict[str, str] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def time_features(self) -> dict[str, tuple[str, str]]:
        """Numeric feature -> (time column, part), e.g. ``"ts.hour" -> ("ts", "hour")``."""
        return {f"{column}.{part}": (column, part) for column, parts in self.times.items() for part in parts}

    def input_columns(self) -> list[str]:
        """The columns of a table the features are read from (the target not included)."""
        derived = self.time_features()
        columns = [derived[name][0] if name in derived else name for name in self.numeric] + self.categorical
        return list(dict.fromkeys(columns))

    @classmethod
    def from_dict(cls, data: object, source: str) -> Schema:
        """A schema read from a model folder's JSON, its every field checked; problems are one
        line naming ``source`` (the model folder is data, not trust)."""
        def bad(what: str) -> ValueError:
            return ValueError(f"{source}: schema: {what}")

        if not isinstance(data, dict):
            raise bad(f"expected a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise bad(f"unknown key(s) {unknown}")
        missing = [key for key in ("target", "positive", "negative_values", "numeric", "categorical", "vocab")
                   if key not in data]
        if missing:
            raise bad(f"missing key(s) {missing}")

        def texts(key: str, value: object) -> list[str]:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise bad(f"{key}: expected a list of texts, got {shown(value)}")
            return value

        for key in ("target", "positive"):
            if not isinstance(data[key], str):
                raise bad(f"{key}: expected a text, got {shown(data[key])}")
        for key in ("negative_values", "numeric", "categorical"):
            texts(key, data[key])
        vocab, numeric = data["vocab"], data["numeric"]
        if len({*numeric, *data["categorical"]}) != len(numeric) + len(data["categorical"]):
            raise bad("a feature is listed twice in numeric and categorical")
        if not isinstance(vocab, dict) or set(vocab) != set(data["categorical"]):
            raise bad("vocab: expected one list of values per categorical column")
        for name, values in vocab.items():
            texts(f"vocab[{name!r}]", values)
        history = data.get("history", [])
        if not isinstance(history, list) or not all(isinstance(g, list) for g in history):
            raise bad("history: expected a list of column groups")
        for group in history:
            texts("history", group)
            if not set(group) <= set(numeric) or len(group) != len(history[0]) or not group:
                raise bad("history: every group must list numeric columns, all groups equally long")
        if data.get("impute", "error") not in ("error", "median"):
            raise bad(f"impute: expected 'error' or 'median', got {shown(data.get('impute'))}")
        medians = data.get("medians", {})
        finite = [isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                  for v in (medians.values() if isinstance(medians, dict) else [None])]
        if not all(finite):
            raise bad("medians: expected finite numbers")
        if data.get("impute") == "median" and not set(numeric) <= set(medians):
            raise bad("medians: every numeric column needs one with impute 'median'")
        times = data.get("times", {})
        parts_ok = [isinstance(parts, list) and parts and set(parts) <= set(TIME_PARTS)
                    for parts in (times.values() if isinstance(times, dict) else [None])]
        if not all(parts_ok):
            raise bad(f"times: expected lists of parts among {list(TIME_PARTS)}")
        id_like = data.get("id_like", {})
        if not isinstance(id_like, dict) or not all(isinstance(v, str) for v in id_like.values()):
            raise bad("id_like: expected column -> reason")
        texts("columns", data.get("columns", []))
        schema = cls(**data)
        derived = schema.time_features()
        if not set(derived) <= set(numeric):
            raise bad("times: every time feature must be a numeric column")
        return schema


def _label_values(table: Table, target: str, positive: str | None) -> tuple[str, list[str]]:
    """The positive label and the other labels of the target column."""
    if target not in table.columns:
        raise ValueError(f"{table.path}: target column {target!r} not found; columns found: "
                         f"{', '.join(table.columns)}")
    values = table.column(target)
    if "" in values:
        i = values.index("")
        raise ValueError(f"{table.where(i)}: column {target!r}: empty target cell; every training row "
                         f"needs a label (leave the row out)")
    counts = Counter(values)
    if len(counts) < 2:
        raise ValueError(f"{table.path}: target column {target!r} has only one class "
                         f"({next(iter(counts))!r}); a risk model needs positives and negatives")
    if positive is not None:
        if positive not in counts:
            raise ValueError(f"--positive {positive!r}: not a value of column {target!r} "
                             f"(values: {sorted(counts)[:10]})")
    elif len(counts) > 2:
        raise ValueError(f"{table.path}: target column {target!r} has {len(counts)} values; name the "
                         f"positive class with --positive (values: {sorted(counts)[:10]})")
    else:
        numbers = {value: as_number(value) for value in counts}
        ones = [value for value, number in numbers.items() if number == 1.0]
        # 0/1 (or false/true) targets: 1 is positive; otherwise the rarer class is
        positive = ones[0] if ones else min(counts, key=lambda v: (counts[v], v))
        lowered = {v.lower(): v for v in counts}
        if not ones and "true" in lowered:
            positive = lowered["true"]
    return positive, sorted(v for v in counts if v != positive)


def infer_schema(table: Table, target: str, rows: np.ndarray | None = None, positive: str | None = None,
                 drop: list[str] = (), categorical: list[str] = (), impute: str = "error",
                 history: bool = True, min_count: int = 2, time_columns: list[str] = (),
                 keep: list[str] = ()) -> Schema:
    """Type the columns (see :mod:`tasks.risk.columns`) and fit vocabularies/medians on ``rows``
    (indices; default all rows).

    Args:
        drop: columns to leave out; ``categorical``: columns to read as categories even if
            numeric; ``time_columns``: columns that hold times (ISO-8601 or Unix seconds);
            ``keep``: columns to use as features even if they look like ids.
        impute: ``"error"`` (a missing number stops with the file, line and column) or
            ``"median"``.
    """
    if impute not in ("error", "median"):
        raise ValueError(f"--impute: expected 'error' or 'median', got {impute!r}")
    drop, categorical = _check_names(table, "--drop", drop), _check_names(table, "--categorical", categorical)
    time_columns, keep = _check_names(table, "--time", time_columns), _check_names(table, "--keep", keep)
    for option, names in (("--drop", drop), ("--categorical", categorical), ("--time", time_columns),
                          ("--keep", keep)):
        if target in names:
            raise ValueError(f"{option} {target}: that is the target column")
    both = set(categorical) & set(time_columns) or set(drop) & {*categorical, *time_columns, *keep}
    if both:
        raise ValueError(f"column {sorted(both)[0]!r}: named in two of --drop, --categorical, --time, --keep")
    positive, negatives = _label_values(table, target, positive)
    fit_rows = list(rows) if rows is not None else range(len(table.rows))
    numeric, cats, vocab, medians, times, id_like = [], [], {}, {}, {}, {}
    for j, name in enumerate(table.columns):
        if name == target or name in drop:
            continue
        cells = [table.rows[i][j] for i in fit_rows]
        if name in time_columns or (name not in categorical and looks_like_time(cells)):
            moments = _times(table, fit_rows, j, name)
            known = [m for m in moments if m is not None]
            if not known:
                raise ValueError(f"{table.path}: column {name!r} has no values (every cell is empty); "
                                 f"drop it with --drop {name}")
            times[name] = [part for part in TIME_PARTS if part != "hour" or any(m.has_clock for m in known)]
            for part in times[name]:
                feature = f"{name}.{part}"
                if feature in table.columns:
                    raise ValueError(f"{table.path}: column {feature!r} clashes with the {part} of the time "
                                     f"column {name!r}; rename one of them")
                numeric.append(feature)
                medians[feature] = float(np.median([time_feature(m, part) for m in known]))
            continue
        if all(cell.lower() in MISSING for cell in cells):
            raise ValueError(f"{table.path}: column {name!r} has no values (every cell is missing); "
                             f"drop it with --drop {name}")
        reason = None if name in keep or name in categorical else id_like_reason(name, cells)
        if reason:
            id_like[name] = reason
            continue
        numbers = [as_number(cell) for cell in cells]
        if name in categorical or any(number is None for number in numbers):
            cats.append(name)
            counts = Counter(cells)
            vocab[name] = sorted(value for value, n in counts.items() if n >= min_count)
        else:
            values = np.array(numbers, dtype=np.float64)
            finite = values[np.isfinite(values) & (np.abs(values) <= _FLOAT32_MAX)]
            if not len(finite):
                raise ValueError(f"{table.path}: column {name!r} has no finite number; drop it with "
                                 f"--drop {name}")
            numeric.append(name)
            medians[name] = float(np.median(finite))
    if not numeric and not cats:
        left_out = [f"--drop {', '.join(drop)}"] if drop else []
        left_out += [f"{name} looks like an id" for name in id_like]
        why = f" ({'; '.join(left_out)})" if left_out else ""
        raise ValueError(f"{table.path}: no feature column left besides the target {target!r}{why}; a risk "
                         "model needs at least one (--keep COL uses a column that only looks like an id)")
    groups = detect_history(numeric) if history else []
    return Schema(target, positive, negatives, numeric, cats, vocab, groups, impute, medians, times, id_like,
                  list(table.columns))


def _times(table: Table, rows, j: int, name: str) -> list:
    """The parsed times of column ``j`` in ``rows`` (``None`` for an empty cell); a cell that is
    not a time is refused, naming the file, the line and the column."""
    moments = []
    for i in rows:
        cell = table.rows[i][j]
        moment = parse_time(cell) if cell else None
        if cell and moment is None:
            raise ValueError(f"{table.where(i)}: column {name!r}: {shown(cell)} is not a time; expected "
                             "ISO-8601 (2024-03-01 14:05:00 or 2024-03-01) or Unix seconds, and an "
                             "empty cell for a missing time")
        moments.append(moment)
    return moments


@dataclass
class Encoded:
    """A table as tensors' worth of numpy arrays.

    Attributes:
        numeric: ``(N, F_num)`` float32 raw numbers (normalised later, inside the model).
        categorical: ``(N, F_cat)`` int64 ids, 0 = unknown.
        labels: ``(N,)`` int64 0/1, or ``None`` when the table has no target column (or the
            labels were not asked for).
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
    """Rows of ``table`` -> arrays following ``schema`` (columns found by name). Without
    ``require_target`` the target column is not read, even when the table has one."""
    needed = schema.input_columns() + ([schema.target] if require_target else [])
    # "extra": columns the training file did not have (a renamed column shows as missing + extra)
    given = [name for name in table.columns if name in needed or name not in schema.columns]
    compare_columns(needed, given, table.path)
    n = len(table.rows)
    numeric = np.zeros((n, len(schema.numeric)), dtype=np.float32)             # (N, F_num)
    imputed: dict[str, int] = {}
    derived = schema.time_features()
    parsed: dict[str, list] = {}
    for k, name in enumerate(schema.numeric):
        if name in derived:
            column, part = derived[name]
            if column not in parsed:
                parsed[column] = _times(table, range(n), table.columns.index(column), column)
            values = [None if m is None else time_feature(m, part) for m in parsed[column]]
            what, hint = "empty time", " (leave the row out, or train with --impute median)"
            source = column
        else:
            j = table.columns.index(name)
            values = [as_number(row[j]) for row in table.rows]
            what, hint = "missing or non-finite value", " (or train with --impute median)"
            source = name
        j = table.columns.index(source)
        for i, number in enumerate(values):
            if number is None and name not in derived:
                raise ValueError(f"{table.where(i)}: column {name!r}: not a number: "
                                 f"{shown(table.rows[i][j])}")
            if number is None or not math.isfinite(number) or abs(number) > _FLOAT32_MAX:
                if schema.impute != "median":
                    raise ValueError(f"{table.where(i)}: column {source!r}: {what} {shown(table.rows[i][j])}"
                                     f"{hint}")
                number = schema.medians[name]
                imputed[name] = imputed.get(name, 0) + 1
            numeric[i, k] = number
    categorical = np.zeros((n, len(schema.categorical)), dtype=np.int64)     # (N, F_cat)
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
    if require_target:
        raw = table.column(schema.target)
        known = {schema.positive, *schema.negative_values}
        for i, value in enumerate(raw):
            if value == "":
                raise ValueError(f"{table.where(i)}: column {schema.target!r}: empty label; evaluation needs "
                                 "the label of every row (score unlabelled rows with predict)")
            if value not in known:
                raise ValueError(f"{table.where(i)}: column {schema.target!r}: unknown label {shown(value)}; "
                                 f"expected one of {sorted(known)}")
        labels = np.array([value == schema.positive for value in raw], dtype=np.int64)   # (N,)
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
