"""Timestamps of a sales history: read from a ``date`` cell, stepped into the future, turned into
calendar features.

A ``date`` cell holds one of (what the page "Bring your own CSV" recommends):

* an ISO-8601 date, ``2024-03-01``;
* an ISO-8601 date and time, ``2024-03-01 14:05:00`` or ``2024-03-01T14:05`` (seconds and a
  fraction optional; a ``Z`` or an offset such as ``+01:00`` is converted to UTC);
* Unix seconds, ``1709251200`` (an integer: seconds since 1970-01-01 00:00 UTC).

Anything else -- an empty cell, ``NaN``, ``inf``, ``NaT``, ``01/03/2024``, ``2024-02-30`` -- is
refused by :func:`parse_timestamp`; the reader adds the file and the line. A column whose
timestamps all fall at midnight is kept as dates (``datetime64[D]``), any other as seconds
(``datetime64[s]``): :func:`as_dates`.

The next ``h`` timestamps of a series (:func:`future_dates`) continue its step: the median gap
between its timestamps (weekly stays weekly, daily stays daily), or whole calendar months when
every timestamp falls on the same day of the month (or on the last day of each month)::

    2024-01-01, 2024-01-08, 2024-01-15  ->  2024-01-22, 2024-01-29, ...     (7 days)
    2024-01-01, 2024-02-01, 2024-03-01  ->  2024-04-01, 2024-05-01, ...     (1 month)

Examples:
    >>> [str(parse_timestamp(cell)) for cell in ("2024-03-01", "2024-03-01 14:05", "86400")]
    ['2024-03-01T00:00:00', '2024-03-01T14:05:00', '1970-01-02T00:00:00']
    >>> month_ends = as_dates(np.array(["2024-01-31", "2024-02-29"], "datetime64[s]"))
    >>> [format_timestamp(d) for d in future_dates(month_ends, 2)]
    ['2024-03-31', '2024-04-30']
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["parse_timestamp", "as_dates", "format_timestamp", "future_dates", "calendar_features",
           "TIMESTAMP_FORMATS"]

#: what a ``date`` cell may hold, for messages
TIMESTAMP_FORMATS = "an ISO-8601 date (2024-03-01), date and time (2024-03-01 14:05:00) or Unix seconds"

_ISO = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?))?"
                  r"(Z|[+-]\d{2}:?\d{2})?")
_UNIX = re.compile(r"[+-]?\d{1,15}")
_DAY = np.timedelta64(1, "D")


def parse_timestamp(text: str) -> np.datetime64:
    """The timestamp in ``text`` (seconds, UTC), or a ``ValueError`` saying what is accepted."""
    cell = text.strip()
    if _UNIX.fullmatch(cell):
        return np.datetime64(int(cell), "s")
    match = _ISO.fullmatch(cell)
    if match is None:
        what = "an empty cell (a missing date)" if not cell else repr(text)
        raise ValueError(f"expected {TIMESTAMP_FORMATS}, got {what}")
    day, time, zone = match.groups()
    try:
        stamp = np.datetime64(f"{day}T{time or '00:00'}".split(".")[0], "s")
    except ValueError:
        raise ValueError(f"expected {TIMESTAMP_FORMATS}, got {text!r} (no such day or time)") from None
    if zone and zone != "Z":                                   # +01:00 is one hour ahead of UTC
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[-2:])
        stamp -= sign * np.timedelta64(hours * 60 + minutes, "m")
    return stamp


def as_dates(stamps: np.ndarray) -> np.ndarray:
    """``stamps`` (``datetime64[s]``) as ``datetime64[D]`` when all fall at midnight, else unchanged."""
    days = stamps.astype("datetime64[D]")
    return days if np.all(days == stamps) else stamps.astype("datetime64[s]")


def format_timestamp(stamp: np.datetime64) -> str:
    """``2024-03-01`` for a date, ``2024-03-01 14:05:00`` for a timestamp with a time."""
    if np.datetime_data(np.asarray(stamp).dtype)[0] == "D":
        return str(stamp)
    return str(np.datetime64(stamp, "s")).replace("T", " ")


def _month_step(dates: np.ndarray) -> tuple[int, bool] | None:
    """``(months, month_end)`` when every date is on the same day of its month (<= 28) or on the
    last day of its month, with a median gap of at least one month; else ``None``."""
    months = dates.astype("datetime64[M]")
    day = (dates - months.astype("datetime64[D]")).astype(np.int64)           # 0 = the 1st
    month_end = bool(np.all((dates + _DAY).astype("datetime64[M]") != months))
    if not month_end and not (np.all(day == day[0]) and day[0] < 28):
        return None
    step = int(np.median(np.diff(months).astype(np.int64)))
    return (step, month_end) if step >= 1 else None


def future_dates(dates: np.ndarray, h: int) -> np.ndarray:
    """The next ``h`` timestamps after ``dates`` (sorted), at the series' step (see the module
    docstring); 7 days apart when the series has a single timestamp."""
    if dates.size > 1 and np.datetime_data(dates.dtype)[0] == "D":
        months = _month_step(dates)
        if months is not None:
            step, month_end = months
            ahead = dates[-1].astype("datetime64[M]") + step * np.arange(1, h + 1)
            if month_end:                                      # the last day of each month
                return (ahead + 1).astype("datetime64[D]") - _DAY
            return ahead.astype("datetime64[D]") + (dates[-1] - dates[-1].astype("datetime64[M]"))
    if dates.size > 1:
        step = int(np.median(np.diff(dates).astype(np.int64)))
    else:
        step = int(np.timedelta64(7, "D") // np.timedelta64(1, np.datetime_data(dates.dtype)[0]))
    return dates[-1] + np.arange(1, h + 1) * max(step, 1)


def calendar_features(dates: np.ndarray) -> np.ndarray:
    """``(n, 4)``: sin/cos of the week of the year and of the day of the week."""
    days = dates.astype("datetime64[D]").astype(np.int64)    # days since 1970-01-01 (a Thursday)
    year_start = dates.astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    year_angle = 2 * np.pi * (days - year_start) / 365.25
    week_angle = 2 * np.pi * ((days + 3) % 7) / 7            # Monday = 0
    return np.stack([np.sin(year_angle), np.cos(year_angle), np.sin(week_angle), np.cos(week_angle)], axis=1)
