"""Loading sales histories: three CSV layouts into one :class:`SeriesSet`.

Layouts (``--format``; ``auto`` looks at the header):

* ``m4``   -- M4's wide CSV: header ``"V1","V2",...``; column 1 is the series id, then the
  values in time order; a shorter series ends in empty cells (or a shorter row).
* ``uci``  -- the UCI "Sales Transactions Weekly" CSV: ``Product_Code``, ``W0..W51`` (units
  per week); the ``MIN``/``MAX``/``Normalized *`` columns are ignored (they use the whole year,
  test weeks included).
* ``long`` -- one observation per row: ``series_id,date,value`` plus optional numeric
  covariate columns (e.g. ``promo``). ``date`` may be left out; rows are then taken in file
  order. With dates (ISO-8601 dates or date-times, or Unix seconds:
  :mod:`tasks.forecasting.timestamps`), rows are sorted by date within each series and calendar
  features are derived (:func:`calendar_features`).

Every entry point that takes ``data`` (the verbs :func:`tasks.forecasting.train`, ``evaluate``
and ``predict``) accepts a path to such a file or a :class:`SeriesSet` already in memory
(:func:`to_series_set`). Files are read by the package's one CSV reader
(:func:`minitransformer.files.tables.read_csv`: UTF-8 with or without a byte-order mark, fields
of any length, a column named twice refused).

Bad input (all ``ValueError`` naming the file, the line and the column): an empty file or one
without data rows; a cell that is not a number; a **missing value** -- an empty cell inside a
series, ``NaN``, ``NA`` -- since no imputation is done (filling a gap is a modelling choice
this head leaves to you: fill it, or drop the series); ``inf``; a value beyond ±10^15 (the
model computes in 32-bit floats); a negative sales value (sales cannot be negative); a date
that is missing or not a timestamp; a duplicate series id or date; a row with more fields
than the header (a row of the long or UCI layout must have exactly as many).
Documented, not errors: a constant series (its MASE is undefined and left out of the MASE
average), a series of length 1 (forecast from its one value; too short to be scored on its
own last values, so the count of such series is reported).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from minitransformer.files.tables import CsvFile, read_csv
from tasks.forecasting.timestamps import as_dates, calendar_features, future_dates, parse_timestamp

__all__ = ["SeriesSet", "load_series", "to_series_set", "split_last", "detect_format", "FORMATS",
           "calendar_features", "future_dates", "input_columns", "read_number", "check_series_set", "LARGEST"]

FORMATS = ("auto", "m4", "uci", "long")
_MISSING = {"nan", "na", "n/a", "null", "none", "-nan"}
#: the largest magnitude accepted: the model computes in float32, whose squares overflow near 1.8e19
LARGEST = 1e15


@dataclass
class SeriesSet:
    """Many series. ``values[i]`` is series ``ids[i]``'s history, oldest first.

    ``dates[i]`` (``datetime64[D]``, or ``datetime64[s]`` when the timestamps have times; long
    format only) and ``covariates[i]`` ``(n_i, K)`` (the extra long-format columns, named
    ``covariate_names``) are ``None`` when absent.
    """

    ids: list[str]
    values: list[np.ndarray]
    format: str
    dates: list[np.ndarray] | None = None
    covariates: list[np.ndarray] | None = None
    covariate_names: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    def lengths(self) -> np.ndarray:
        return np.array([v.size for v in self.values])

    def subset(self, indices: list[int]) -> SeriesSet:
        """The series at ``indices``, in that order (a new set; this one is left as it is)."""
        def pick(items):
            return None if items is None else [items[i] for i in indices]

        return SeriesSet(ids=pick(self.ids), values=pick(self.values), format=self.format,
                         dates=pick(self.dates), covariates=pick(self.covariates),
                         covariate_names=list(self.covariate_names))

    def drop_last(self, h: int) -> SeriesSet:
        """Every series without its last ``h >= 0`` values (dates and covariates cut alike)."""
        def cut(items):
            return None if items is None else [x[:len(x) - h] for x in items]

        return SeriesSet(ids=list(self.ids), values=cut(self.values), format=self.format,
                         dates=cut(self.dates), covariates=cut(self.covariates),
                         covariate_names=list(self.covariate_names))


def input_columns(data: SeriesSet) -> list[str]:
    """What a model trained on ``data`` reads, in the long layout's names: ``series_id``,
    ``date`` (when the data has dates), ``value``, then the covariates in order.

    Examples:
        >>> input_columns(SeriesSet(ids=["a"], values=[np.ones(3)], format="m4"))
        ['series_id', 'value']
    """
    dates = ["date"] if data.dates is not None else []
    return ["series_id", *dates, "value", *data.covariate_names]


def detect_format(header: list[str], path: str | Path = "data") -> str:
    """``m4`` / ``uci`` / ``long`` from the header row (``ValueError`` if none fits)."""
    names = [h.strip() for h in header]
    if names and names[0] == "V1":
        return "m4"
    if "Product_Code" in names and "W0" in names:
        return "uci"
    if "series_id" in names and "value" in names:
        return "long"
    raise ValueError(f"{path}, line 1: cannot tell the layout from the header {names[:6]}: expected "
                     "'V1,V2,...' (M4), 'Product_Code,W0,...' (UCI) or 'series_id,date,value' (long); "
                     "see docs/tasks/forecasting.md, section 'Your own data'")


def read_number(cell: str, where: str, what: str = "value", negative: bool = False) -> float:
    """The number in ``cell``; ``where`` (file, line, column) starts every refusal's message.

    Refused: an empty cell or ``NaN``/``NA`` (a missing value: no imputation is done), text,
    ``inf``, a magnitude beyond :data:`LARGEST`, and a negative number unless ``negative``.
    """
    text = cell.strip()
    if not text or text.lower() in _MISSING:
        shown = "an empty cell" if not text else repr(cell)
        raise ValueError(f"{where}: missing {what} ({shown}); this head does not fill gaps: "
                         "fill it yourself or drop the series")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{where}: expected a number, got {cell!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{where}: expected a finite number, got {cell!r}")
    if abs(value) > LARGEST:
        raise ValueError(f"{where}: {value:g} is too large (at most {LARGEST:g}: the model computes in "
                         "32-bit floats); rescale the column, e.g. to thousands")
    if value < 0 and not negative:
        raise ValueError(f"{where}: negative {what} {value:g} (sales cannot be negative)")
    return value


def _check_unique(ids: list[str], lines: list[int], path: Path) -> None:
    first: dict[str, int] = {}
    for series_id, line in zip(ids, lines):
        if series_id in first:
            raise ValueError(f"{path}, line {line}: series id {series_id!r} appears twice "
                             f"(first at line {first[series_id]})")
        first[series_id] = line


def _check_width(table: CsvFile, line: int, row: list[str], exact: bool) -> None:
    """A row may not have more fields than the header (with ``exact``, nor fewer); empty extra
    fields (a trailing comma) are tolerated."""
    n = len(table.header)
    extra = any(cell.strip() for cell in row[n:])
    if extra or (exact and len(row) < n):
        raise ValueError(f"{table.path}, line {line}: expected {n} fields as in the header, got {len(row)}")


def _week_columns(table: CsvFile) -> list[int]:
    """The positions of ``W0, W1, ...`` in a UCI header, in week order (no week may be missing)."""
    weeks: dict[int, int] = {}
    for i, name in enumerate(table.header):
        if name[:1] == "W" and name[1:].isdigit():
            week = int(name[1:])
            if week in weeks:
                raise ValueError(f"{table.path}, line 1: columns {table.header[weeks[week]]!r} and {name!r} "
                                 "are the same week")
            weeks[week] = i
    missing = sorted(set(range(max(weeks) + 1)) - set(weeks))
    if missing:
        raise ValueError(f"{table.path}, line 1: week column W{missing[0]} is missing (expected W0, W1, ... "
                         f"up to W{max(weeks)} without a gap)")
    return [weeks[w] for w in sorted(weeks)]


def _load_wide(table: CsvFile, layout: str) -> SeriesSet:
    path, header = table.path, table.header
    if layout == "m4":
        id_col, value_cols = 0, list(range(1, len(header)))
    else:
        id_col, value_cols = header.index("Product_Code"), _week_columns(table)
    ids, values, lines = [], [], []
    for line, row in table.rows:
        _check_width(table, line, row, exact=layout == "uci")
        series_id = row[id_col] if id_col < len(row) else ""
        if not series_id:
            raise ValueError(f"{path}, line {line}, column {header[id_col]!r}: empty series id")
        cells = [row[c] if c < len(row) else "" for c in value_cols]
        n = len(cells)
        if layout == "m4":
            while n and not cells[n - 1]:                    # a shorter series ends in empty cells
                n -= 1
        if n == 0:
            raise ValueError(f"{path}, line {line}: series {series_id!r} has no values")
        series = [read_number(cell, f"{path}, line {line}, column {header[value_cols[k]]!r} "
                                    f"(series {series_id!r}, position {k})")
                  for k, cell in enumerate(cells[:n])]
        ids.append(series_id)
        values.append(np.array(series))
        lines.append(line)
    _check_unique(ids, lines, path)
    return SeriesSet(ids=ids, values=values, format=layout)


def _load_long(table: CsvFile) -> SeriesSet:
    path, header = table.path, table.header
    col = {name: i for i, name in enumerate(header)}
    has_date = "date" in col
    extra = [h for h in header if h not in ("series_id", "date", "value")]
    grouped: dict[str, list[tuple]] = defaultdict(list)
    for line, row in table.rows:
        if len(row) != len(header):  # fixed columns: not even an empty extra field
            raise ValueError(f"{path}, line {line}: expected {len(header)} fields as in the header, "
                             f"got {len(row)}")
        series_id = row[col["series_id"]]
        if not series_id:
            raise ValueError(f"{path}, line {line}, column 'series_id': empty series id")
        date = None
        if has_date:
            try:
                date = parse_timestamp(row[col["date"]])
            except ValueError as err:
                raise ValueError(f"{path}, line {line}, column 'date': {err}") from None
        value = read_number(row[col["value"]], f"{path}, line {line}, column 'value'")
        covs = [read_number(row[col[name]], f"{path}, line {line}, covariate column {name!r}",
                            what="covariate", negative=True) for name in extra]
        grouped[series_id].append((date, value, covs, line))
    ids, values, dates, covariates = [], [], [], []
    for series_id, items in grouped.items():
        if has_date:
            items.sort(key=lambda item: item[0])
            for a, b in zip(items, items[1:]):
                if a[0] == b[0]:
                    first, second = sorted((a[3], b[3]))
                    raise ValueError(f"{path}, line {second}, column 'date': series {series_id!r} has "
                                     f"this date twice (also at line {first})")
            dates.append(np.array([item[0] for item in items], dtype="datetime64[s]"))
        ids.append(series_id)
        values.append(np.array([item[1] for item in items]))
        covs = np.array([item[2] for item in items], dtype=np.float64)
        covariates.append(covs.reshape(len(items), len(extra)))
    if has_date:                                              # all at midnight: dates, as before
        days = as_dates(np.concatenate(dates))
        if days.dtype == np.dtype("datetime64[D]"):
            dates = [d.astype("datetime64[D]") for d in dates]
    return SeriesSet(ids=ids, values=values, format="long", dates=dates if has_date else None,
                     covariates=covariates if extra else None, covariate_names=extra)


def load_series(path: str | Path, format: str = "auto") -> SeriesSet:
    """Read ``path`` in the given layout (see the module docstring) into a :class:`SeriesSet`."""
    if format not in FORMATS:
        raise ValueError(f"format: expected one of {', '.join(FORMATS)}, got {format!r}")
    table = read_csv(path, ragged=True)
    layout = detect_format(table.header, table.path) if format == "auto" else format
    if layout == "long":
        table.require(("series_id", "value"), hint="the long layout is series_id,date,value[,covariates]")
        return _load_long(table)
    if layout == "uci":
        table.require(("Product_Code", "W0"), hint="the UCI layout is Product_Code,W0,W1,...")
    return _load_wide(table, layout)


def to_series_set(data: SeriesSet | str | Path, format: str = "auto") -> SeriesSet:
    """``data`` itself when it is a :class:`SeriesSet`, else the file it names (:func:`load_series`)."""
    if isinstance(data, SeriesSet):
        check_series_set(data)
        return data
    if isinstance(data, (str, Path)):
        return load_series(data, format)
    raise TypeError(f"data: expected a path or a SeriesSet, got {type(data).__name__}")


def check_series_set(data: SeriesSet, source: str = "data") -> None:
    """Refuse a :class:`SeriesSet` built in Python that a file would not pass either: no series,
    ids that are not unique strings, values that are empty, not 1-D, not finite or negative,
    dates or covariates that do not match the values."""
    if not data.ids or len(data.values) != len(data.ids):
        raise ValueError(f"{source}: expected one or more series with one values array each, got "
                         f"{len(data.ids)} id(s) and {len(data.values)} array(s)")
    if len(set(data.ids)) != len(data.ids) or not all(isinstance(i, str) and i for i in data.ids):
        raise ValueError(f"{source}: series ids must be unique, non-empty strings")
    for name, items in (("dates", data.dates), ("covariates", data.covariates)):
        if items is not None and len(items) != len(data.ids):
            raise ValueError(f"{source}: {len(items)} {name} arrays for {len(data.ids)} series")
    k = len(data.covariate_names)
    for i, (series_id, x) in enumerate(zip(data.ids, data.values)):
        x = np.asarray(x)
        where = f"{source}: series {series_id!r}"
        if x.ndim != 1 or x.size == 0 or not np.issubdtype(x.dtype, np.number):
            raise ValueError(f"{where}: expected a non-empty 1-D array of numbers, got shape {x.shape}")
        bad = np.flatnonzero(~np.isfinite(x) | (x < 0) | (np.abs(x) > LARGEST))
        if bad.size:
            raise ValueError(f"{where}, position {bad[0]}: {x[bad[0]]} is not a sales value (finite, "
                             f"0 to {LARGEST:g}); this head does not fill gaps")
        if data.dates is not None and (np.asarray(data.dates[i]).shape != x.shape
                                       or not np.issubdtype(np.asarray(data.dates[i]).dtype, np.datetime64)):
            raise ValueError(f"{where}: expected {x.size} datetime64 dates")
        if data.covariates is not None:
            cov = np.asarray(data.covariates[i])
            if cov.shape != (x.size, k) or not np.all(np.isfinite(cov)):
                raise ValueError(f"{where}: expected finite covariates of shape ({x.size}, {k}), "
                                 f"got shape {cov.shape}")


def split_last(data: SeriesSet, h: int) -> tuple[SeriesSet, list[np.ndarray], list[int]]:
    """``(histories, actuals, kept)``: every series with more than ``h`` values, minus its last h;
    those h values; the positions of the kept series in ``data``.

    Raises ``ValueError`` if no series is long enough (a horizon longer than every series).

    Examples:
        >>> data = SeriesSet(ids=["a", "b"], values=[np.arange(5.0), np.arange(2.0)], format="m4")
        >>> histories, actuals, kept = split_last(data, 2)
        >>> histories.ids, histories.values[0].tolist(), actuals[0].tolist(), kept
        (['a'], [0.0, 1.0, 2.0], [3.0, 4.0], [0])
    """
    kept = [i for i, x in enumerate(data.values) if x.size > h]
    if not kept:
        raise ValueError(f"horizon {h} is longer than every series (the longest has "
                         f"{max(x.size for x in data.values)} values); holding out the last {h} needs more")
    chosen = data.subset(kept)
    return chosen.drop_last(h), [x[-h:] for x in chosen.values], kept
