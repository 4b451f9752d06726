"""What a trained model reads: its columns, checked against each new file, and the known future
covariates (planned promotions) of the steps it forecasts.

**Columns.** A model is trained on ``series_id``, ``date`` (when the data had dates: the
members then read four calendar features), ``value`` and the covariate columns (``promo``, a
price, ...); training saves them as ``columns`` in ``forecast.json``. A file to evaluate or to
forecast must give the same (:func:`model_inputs`): a missing column is refused, naming what is
missing and what is extra; other columns are ignored. Model folders saved before the columns
were recorded are checked by the number of covariates only.

**Known future covariates.** A member reads the covariates of the ``H`` steps it forecasts (see
:mod:`tasks.forecasting.model`). The calendar features follow from the dates; the others -- a
planned promotion, a planned price -- come from the user (:func:`known_future`): a dict
``{series id: (H, K) array}``, or a CSV file with ``series_id``, optionally ``date``, and the
model's covariate columns, one row per series and forecast step::

    series_id,date,promo
    P0001,2025-01-06,0
    P0001,2025-01-13,1

Refused, naming the file and the line: any other column (``value`` too: the sales of those
steps are what the model forecasts), an empty or non-numeric cell, a series without exactly
``H`` rows, a series that is not in the data, a date that is not one of the series' next ``H``
dates. Without them the covariates are 0 over the horizon ("no promotion planned");
:func:`tasks.forecasting.predict` then warns.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from minitransformer.files.tables import compare_columns, read_csv
from tasks.forecasting.config import ForecastSettings
from tasks.forecasting.data import SeriesSet, input_columns, read_number
from tasks.forecasting.timestamps import format_timestamp, future_dates, parse_timestamp
from tasks.forecasting.windows import n_covariates

__all__ = ["model_inputs", "known_future", "held_out_future", "extra_covariates"]

_FIXED = ("series_id", "date", "value")


def extra_covariates(settings: ForecastSettings, n_model: int, data: SeriesSet) -> int:
    """How many covariates besides the calendar features the members read (``n_model`` in all)."""
    if settings.covariate_names is not None:
        return len(settings.covariate_names)
    return n_model - (4 if data.dates is not None else 0)


def model_inputs(settings: ForecastSettings, n_model: int, data: SeriesSet, source: str,
                 need_dates: bool = True) -> SeriesSet:
    """``data`` as the members read it: the trained covariate columns, in the trained order
    (other columns dropped), and the dates only if the members read calendar features.

    ``n_model`` is the members' number of covariates ``K``. ``need_dates=False`` accepts a file
    without dates (a test file: the calendar of the forecast steps follows from the history).
    Raises ``ValueError`` naming ``source`` when a column the model reads is missing.
    """
    names = settings.covariate_names
    if names is None:                                          # a folder from before `columns`
        given = n_covariates(data)
        extra = len(data.covariate_names)
        if given != n_model and (need_dates or extra not in (n_model, n_model - 4)):
            calendar = "4 calendar features and " if data.dates is not None else ""
            raise ValueError(f"{source}: gives {given} covariate(s) ({calendar}{extra} column(s)), "
                             f"the model reads {n_model}")
        return data
    trained = [c for c in settings.columns if need_dates or c != "date"]
    compare_columns(trained, input_columns(data), source)
    covariates = None
    if names:
        index = [data.covariate_names.index(name) for name in names]
        covariates = [c[:, index] for c in data.covariates]
    return SeriesSet(ids=list(data.ids), values=list(data.values), format=data.format,
                     dates=data.dates if "date" in settings.columns else None,
                     covariates=covariates, covariate_names=list(names))


def held_out_future(data: SeriesSet, h: int) -> dict[str, np.ndarray] | None:
    """The covariates of each series' last ``h`` steps (known: they are in the file), by id."""
    if data.covariates is None:
        return None
    return {series_id: c[-h:] for series_id, c in zip(data.ids, data.covariates)}


def known_future(future, names: list[str] | None, k: int, data: SeriesSet, all_ids: list[str],
                 h: int) -> dict[str, np.ndarray]:
    """The ``(h, k)`` future covariates of every series of ``data``, by id, from ``future``
    (a CSV path or a dict; see the module docstring); ``names`` are the covariate columns
    (``None``: unknown, an older model folder), ``all_ids`` every series of the data file."""
    if k == 0:
        raise ValueError("future: the model reads no covariates besides the calendar; it needs no "
                         "future covariates")
    if isinstance(future, (str, Path)):
        return _read_future_file(Path(future), names, k, data, all_ids, h)
    if isinstance(future, dict):
        return _check_future_dict(future, k, data, all_ids, h)
    raise TypeError(f"future: expected a CSV path or a dict of arrays by series id, "
                    f"got {type(future).__name__}")


def _check_future_dict(future: dict, k: int, data: SeriesSet, all_ids: list[str], h: int) -> dict:
    all_ids = set(all_ids)
    unknown = [key for key in future if key not in all_ids]
    if unknown:
        raise ValueError(f"future: series {unknown[0]!r} is not in the data")
    missing = [series_id for series_id in data.ids if series_id not in future]
    if missing:
        raise ValueError(f"future: no covariates for series {_some(missing)} (the model reads them "
                         f"for each of the {h} forecast steps)")
    checked = {}
    for series_id in data.ids:
        try:
            values = np.asarray(future[series_id], dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"future: series {series_id!r}: expected an array of numbers") from None
        if values.ndim == 1 and k == 1:
            values = values[:, None]
        if values.shape != (h, k) or not np.all(np.isfinite(values)):
            raise ValueError(f"future: series {series_id!r}: expected finite numbers of shape ({h}, {k}) "
                             f"(horizon, covariates), got shape {values.shape}")
        checked[series_id] = values
    return checked


def _read_future_file(path: Path, names: list[str] | None, k: int, data: SeriesSet, all_ids: list[str],
                      h: int) -> dict[str, np.ndarray]:
    table, all_ids = read_csv(path), set(all_ids)
    listed = ", ".join(["series_id", "date (optional)", *(names or [f"{k} covariate column(s)"])])
    table.require(["series_id", *(names or [])], hint=f"a future file has {listed}")
    others = [c for c in table.header if c not in ("series_id", "date")]
    if names is not None:
        for column in others:
            if column not in names:
                why = ("the sales of the forecast steps are what the model forecasts" if column == "value"
                       else "not a covariate the model was trained with")
                raise ValueError(f"{path}, line 1: column {column!r}: {why}; a future file has {listed}")
    elif len(others) != k:
        raise ValueError(f"{path}, line 1: {len(others)} covariate column(s), the model reads {k}")
    order = [table.index(c) for c in (names or others)]
    has_date = "date" in table.header
    rows: dict[str, list[tuple]] = defaultdict(list)
    for line, fields in table.rows:
        series_id = fields[table.index("series_id")]
        if series_id not in all_ids:
            raise ValueError(f"{path}, line {line}, column 'series_id': series {series_id!r} is not in "
                             "the data")
        date = None
        if has_date:
            try:
                date = parse_timestamp(fields[table.index("date")])
            except ValueError as err:
                raise ValueError(f"{path}, line {line}, column 'date': {err}") from None
        values = [read_number(fields[i], f"{path}, line {line}, column {table.header[i]!r}", what="covariate",
                              negative=True) for i in order]
        rows[series_id].append((date, values, line))
    position = {series_id: i for i, series_id in enumerate(data.ids)}
    missing = [series_id for series_id in data.ids if series_id not in rows]
    if missing:
        raise ValueError(f"{path}: no rows for series {_some(missing)} (the model reads its covariates for "
                         f"each of the {h} forecast steps)")
    future = {}
    for series_id in data.ids:
        items = rows[series_id]
        if has_date:
            items.sort(key=lambda item: item[0])
            if data.dates is not None:
                _check_dates(path, series_id, items, future_dates(data.dates[position[series_id]], h))
        if len(items) != h:
            where = f"line {items[h][2]}" if len(items) > h else f"lines {items[0][2]} to {items[-1][2]}"
            raise ValueError(f"{path}, {where}: series {series_id!r} has {len(items)} row(s), the horizon is "
                             f"{h} (one row per forecast step)")
        future[series_id] = np.array([item[1] for item in items], dtype=np.float64)   # (H, K)
    return future


def _check_dates(path: Path, series_id: str, items: list[tuple], expected: np.ndarray) -> None:
    """Every row's date is one of the series' next dates, each once."""
    wanted = {np.datetime64(d, "s") for d in expected}
    seen = {}
    for date, _, line in items:
        if date not in wanted:
            shown = date.astype("datetime64[D]") if date == date.astype("datetime64[D]") else date
            raise ValueError(f"{path}, line {line}, column 'date': {format_timestamp(shown)} is "
                             f"not one of the {len(expected)} forecast dates of series {series_id!r} "
                             f"({format_timestamp(expected[0])} to {format_timestamp(expected[-1])})")
        if date in seen:
            raise ValueError(f"{path}, line {line}, column 'date': series {series_id!r} has this date twice "
                             f"(also at line {seen[date]})")
        seen[date] = line


def _some(ids: list[str]) -> str:
    shown = ", ".join(repr(i) for i in ids[:3])
    return shown + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
