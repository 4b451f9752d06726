"""Loading sales histories: three CSV layouts into one :class:`SeriesSet`.

Layouts (``--format``; ``auto`` looks at the header):

* ``m4``   -- M4's wide CSV: header ``"V1","V2",...``; column 1 is the series id, then the
  values in time order; rows are padded with empty cells after the series ends (ragged).
* ``uci``  -- the UCI "Sales Transactions Weekly" CSV: ``Product_Code``, ``W0..W51`` (units
  per week); the ``MIN``/``MAX``/``Normalized *`` columns are ignored (they use the whole year,
  test weeks included).
* ``long`` -- one observation per row: ``series_id,date,value`` plus optional numeric
  covariate columns (e.g. ``promo``). ``date`` (ISO ``YYYY-MM-DD``) may be left out; rows are
  then taken in file order. With dates, rows are sorted by date within each series and
  calendar features are derived (:func:`calendar_features`).

Every entry point that takes ``data`` (the verbs :func:`tasks.forecasting.train`, ``evaluate``
and ``predict``) accepts a path to such a file or a :class:`SeriesSet` already in memory
(:func:`to_series_set`).

Bad input (all ``ValueError`` naming the file, line and column, or the series and position):
an empty file or one without data rows; a cell that is not a number; a missing value (empty
cell inside a wide row, ``NaN``, ``NA``) -- no imputation is done, fix or drop the series;
a negative value (sales cannot be negative); a duplicate series id or date.
Documented, not errors: a constant series (its MASE is undefined and left out of the MASE
average), a series of length 1 (forecast from its one value; too short to be scored on its
own last values, so the count of such series is reported).
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["SeriesSet", "load_series", "to_series_set", "split_last", "detect_format", "FORMATS",
           "calendar_features", "future_dates"]

FORMATS = ("auto", "m4", "uci", "long")
_MISSING = {"nan", "na", "n/a", "null", "none"}


@dataclass
class SeriesSet:
    """Many series. ``values[i]`` is series ``ids[i]``'s history, oldest first.

    ``dates[i]`` (``datetime64[D]``, long format only) and ``covariates[i]`` ``(n_i, K)`` (the
    extra long-format columns, named ``covariate_names``) are ``None`` when absent.
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


def detect_format(header: list[str]) -> str:
    """``m4`` / ``uci`` / ``long`` from the header row (``ValueError`` if none fits)."""
    names = [h.strip() for h in header]
    if names and names[0] == "V1":
        return "m4"
    if "Product_Code" in names and "W0" in names:
        return "uci"
    if "series_id" in names and "value" in names:
        return "long"
    raise ValueError(f"cannot detect the format from the header {names[:6]}: expected 'V1,V2,...' (M4), "
                     "'Product_Code,W0,...' (UCI) or 'series_id,date,value' (long)")


def _number(cell: str, where: str) -> float:
    text = cell.strip()
    if text.lower() in _MISSING:
        raise ValueError(f"{where}: missing value {cell!r} (no imputation is done; fix or drop the series)")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{where}: expected a number, got {cell!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{where}: expected a finite number, got {cell!r}")
    if value < 0:
        raise ValueError(f"{where}: negative value {value:g} (sales cannot be negative)")
    return value


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: data file not found")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = [(i, row) for i, row in enumerate(csv.reader(handle), start=1) if any(c.strip() for c in row)]
    if not rows:
        raise ValueError(f"{path}: empty file (expected a header and at least one series)")
    header = [h.strip() for h in rows[0][1]]
    if len(rows) == 1:
        raise ValueError(f"{path}: no data rows after the header")
    return header, rows[1:]


def _check_unique(ids: list[str], path: Path) -> None:
    seen = set()
    for series_id in ids:
        if series_id in seen:
            raise ValueError(f"{path}: series id {series_id!r} appears twice")
        seen.add(series_id)


def _load_wide(path: Path, header: list[str], rows, layout: str) -> SeriesSet:
    if layout == "m4":
        id_col, value_cols = 0, list(range(1, len(header)))
    else:
        id_col = header.index("Product_Code")
        weeks = sorted((int(h[1:]), i) for i, h in enumerate(header) if h[:1] == "W" and h[1:].isdigit())
        value_cols = [i for _, i in weeks]
    ids, values = [], []
    for line, row in rows:
        series_id = row[id_col].strip() if id_col < len(row) else ""
        if not series_id:
            raise ValueError(f"{path}:{line}: empty series id in column {header[id_col]!r}")
        cells = [row[c] if c < len(row) else "" for c in value_cols]
        n = len(cells)
        while n and not cells[n - 1].strip():                # ragged row: trailing empties end it
            n -= 1
        if n == 0:
            raise ValueError(f"{path}:{line}: series {series_id!r} has no values")
        series = []
        for k, cell in enumerate(cells[:n]):
            where = f"{path}:{line}: series {series_id!r} position {k} (column {header[value_cols[k]]!r})"
            if not cell.strip():
                raise ValueError(f"{where}: missing value inside the series (no imputation is done)")
            series.append(_number(cell, where))
        ids.append(series_id)
        values.append(np.array(series))
    _check_unique(ids, path)
    return SeriesSet(ids=ids, values=values, format=layout)


def _load_long(path: Path, header: list[str], rows) -> SeriesSet:
    col = {name: i for i, name in enumerate(header)}
    has_date = "date" in col
    extra = [h for h in header if h not in ("series_id", "date", "value")]
    grouped: dict[str, list[tuple]] = defaultdict(list)
    for line, row in rows:
        if len(row) != len(header):
            raise ValueError(f"{path}:{line}: expected {len(header)} columns, got {len(row)}")
        series_id = row[col["series_id"]].strip()
        if not series_id:
            raise ValueError(f"{path}:{line}: empty series_id")
        where = f"{path}:{line}: series {series_id!r}"
        date = None
        if has_date:
            try:
                date = np.datetime64(row[col["date"]].strip(), "D")
            except ValueError:
                raise ValueError(f"{where}: column 'date': expected YYYY-MM-DD, "
                                 f"got {row[col['date']]!r}") from None
        value = _number(row[col["value"]], f"{where} (column 'value')")
        covs = []
        for name in extra:
            try:
                covs.append(float(row[col[name]]))
            except ValueError:
                raise ValueError(f"{where}: covariate column {name!r}: expected a number, "
                                 f"got {row[col[name]]!r}") from None
        grouped[series_id].append((date, value, covs, line))
    ids, values, dates, covariates = [], [], [], []
    for series_id, items in grouped.items():
        if has_date:
            items.sort(key=lambda item: item[0])
            for a, b in zip(items, items[1:]):
                if a[0] == b[0]:
                    raise ValueError(f"{path}:{b[3]}: series {series_id!r}: date {b[0]} appears twice")
            dates.append(np.array([item[0] for item in items], dtype="datetime64[D]"))
        ids.append(series_id)
        values.append(np.array([item[1] for item in items]))
        covs = np.array([item[2] for item in items], dtype=np.float64)
        covariates.append(covs.reshape(len(items), len(extra)))
    return SeriesSet(ids=ids, values=values, format="long", dates=dates if has_date else None,
                     covariates=covariates if extra else None, covariate_names=extra)


def load_series(path: str | Path, format: str = "auto") -> SeriesSet:
    """Read ``path`` in the given layout (see the module docstring) into a :class:`SeriesSet`."""
    path = Path(path)
    if format not in FORMATS:
        raise ValueError(f"--format: expected one of {FORMATS}, got {format!r}")
    header, rows = _read_rows(path)
    layout = detect_format(header) if format == "auto" else format
    if layout == "long":
        missing = [c for c in ("series_id", "value") if c not in header]
        if missing:
            raise ValueError(f"{path}: long format needs the column(s) {missing}; header is {header}")
        return _load_long(path, header, rows)
    if layout == "uci" and ("Product_Code" not in header or "W0" not in header):
        raise ValueError(f"{path}: UCI format needs the columns 'Product_Code' and 'W0'..; "
                         f"header is {header[:5]}")
    return _load_wide(path, header, rows, layout)


def to_series_set(data: SeriesSet | str | Path, format: str = "auto") -> SeriesSet:
    """``data`` itself when it is a :class:`SeriesSet`, else the file it names (:func:`load_series`)."""
    if isinstance(data, SeriesSet):
        return data
    if isinstance(data, (str, Path)):
        return load_series(data, format)
    raise TypeError(f"data: expected a path or a SeriesSet, got {type(data).__name__}")


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
        raise ValueError(f"--horizon {h} is longer than every series (the longest has "
                         f"{max(x.size for x in data.values)} values); hold-out needs more than {h}")
    chosen = data.subset(kept)
    return chosen.drop_last(h), [x[-h:] for x in chosen.values], kept


def future_dates(dates: np.ndarray, h: int) -> np.ndarray:
    """The next ``h`` dates after ``dates``, one median step apart (7 days if unknown)."""
    step = int(np.median(np.diff(dates).astype(int))) if dates.size > 1 else 7
    return dates[-1] + np.arange(1, h + 1) * max(step, 1)


def calendar_features(dates: np.ndarray) -> np.ndarray:
    """``(n, 4)``: sin/cos of the week of the year and of the day of the week."""
    days = dates.astype("datetime64[D]").astype(np.int64)    # days since 1970-01-01 (a Thursday)
    year_start = dates.astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    year_angle = 2 * np.pi * (days - year_start) / 365.25
    week_angle = 2 * np.pi * ((days + 3) % 7) / 7            # Monday = 0
    return np.stack([np.sin(year_angle), np.cos(year_angle), np.sin(week_angle), np.cos(week_angle)], axis=1)
