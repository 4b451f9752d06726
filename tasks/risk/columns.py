"""What a column of a user's table is to a risk model: a number, a category, a time, or an id.

:func:`tasks.risk.data.infer_schema` types every column but the target with the rules of this
module, in this order:

1. **Time** -- a column named with ``time_columns=`` (``--time COL``), or one where more than
   half of the non-empty cells are ISO-8601 dates or date-times (``2024-03-01``,
   ``2024-03-01 14:05:00``, ``2024-03-01T14:05:00.5+01:00``). Each cell may also be Unix
   seconds (``1709301900``). A time is not used as it is: the absolute date says nothing about
   a new row (every future row lies after the training period) and would let the model
   memorise *when* fraud happened. What it keeps are two numbers a fraud analyst looks at::

       <column>.hour      h + m / 60 + s / 3600 in [0, 24)     (only when some cell has a clock time)
       <column>.weekday   0 = Monday ... 6 = Sunday

   ISO times are read as written (the clock time at the place of the purchase; an offset such
   as ``+01:00`` is not applied); Unix seconds are UTC. An empty cell is a missing time;
   ``nan``, ``inf`` or any other text is refused, naming the file, the line and the column.
2. **Id** -- a column with a different value in every row is *ID-like* and not used as a
   feature, because an id tells nothing about a new row: a model would only memorise the rows it
   was trained on (and ``predict --explain`` would name it as a reason). A column with one
   distinct value per row (no empty cell, at least ``MIN_ROWS_FOR_ID`` rows) is ID-like when

   * its **name** ends in ``id`` as a word (``ID``, ``order_id``, ``orderId``,
     ``Transaction ID``, ``uuid``; not ``paid`` or ``bid``), or
   * it holds **text** that is not a number (``A1734``, ``3f2a-...``), or
   * it holds **whole numbers** that count up or down row by row, or that are, once sorted,
     consecutive (``1001, 1002, ...`` in any order).

   A unique column of amounts with cents (``12.34``) is a number, not an id, and stays a
   feature; so do unique whole numbers with gaps in no order (``3913, 2682, 29239``).
   ``keep=`` (``--keep COL``) keeps a column that only looks like an id.
3. **Number** -- every non-missing cell parses as a number (:data:`MISSING` lists the markers of a
   missing number).
4. **Category** -- everything else, and the columns named with ``categorical=``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date

__all__ = ["MISSING", "MIN_ROWS_FOR_ID", "TIME_PARTS", "Moment", "as_number", "parse_time",
           "looks_like_time", "id_like_reason", "time_feature", "shown"]

MISSING = {"", "na", "n/a", "nan", "null", "none", "?"}
MIN_ROWS_FOR_ID = 20           # below this, a different value in every row is no evidence of an id
TIME_PARTS = ("hour", "weekday")

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})"                      # date
                  r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?"   # clock time
                  r"(?:Z|[+-]\d{2}(?::?\d{2})?)?$")                   # offset (not applied)
_ID_NAME = re.compile(r"(?:^|[^A-Za-z0-9])(?:uu|gu)?id$", re.IGNORECASE)   # ID, order_id, Transaction ID
_CAMEL_ID = re.compile(r"[a-z0-9](?:Id|ID)$")                                # orderId, customerID
_SECONDS_PER_DAY = 86400


def shown(value: object, width: int = 40) -> str:
    """``value`` quoted for a one-line message, cut to about ``width`` characters.

    Examples:
        >>> shown("nan"), shown("9" * 100)
        ("'nan'", "'9999999999999999999999999999999999999...'")
    """
    if isinstance(value, str) and len(value) > width:
        value = value[:width - 3] + "..."
    text = repr(value)
    return text if len(text) <= width + 2 else text[:width - 1] + "..."


def as_number(text: str) -> float | None:
    """The cell as a float, ``nan`` for a missing/non-finite marker, ``None`` if not a number.

    Examples:
        >>> as_number("12.5"), as_number(""), as_number("abc")
        (12.5, nan, None)
    """
    if text.lower() in MISSING:
        return math.nan
    try:
        return float(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class Moment:
    """A parsed time: the hour of day in ``[0, 24)``, the weekday (0 = Monday) and whether the
    cell had a clock time at all (a bare date has none)."""

    hour: float
    weekday: int
    has_clock: bool


def parse_time(text: str) -> Moment | None:
    """An ISO-8601 date or date-time, or Unix seconds, as a :class:`Moment`; ``None`` otherwise
    (``nan``, ``inf``, other text, impossible dates such as ``2024-02-30``).

    Examples:
        >>> parse_time("2024-03-01 14:30:00")      # a Friday
        Moment(hour=14.5, weekday=4, has_clock=True)
        >>> parse_time("2024-03-01")
        Moment(hour=0.0, weekday=4, has_clock=False)
        >>> parse_time("1709303400")               # the same instant as the first, in Unix seconds (UTC)
        Moment(hour=14.5, weekday=4, has_clock=True)
        >>> parse_time("nan") is None and parse_time("2024-02-30") is None
        True
    """
    match = _ISO.match(text)
    if match:
        year, month, day, hh, mm, ss, fraction = match.groups()
        try:
            weekday = date(int(year), int(month), int(day)).weekday()
        except ValueError:
            return None
        if hh is None:
            return Moment(0.0, weekday, False)
        hour, minute, second = int(hh), int(mm), int(ss or 0) + float(fraction or 0)
        if hour > 23 or minute > 59 or second >= 61:      # 60: a leap second
            return None
        return Moment(hour + minute / 60 + min(second, 59.999) / 3600, weekday, True)
    try:
        seconds = float(text)
    except ValueError:
        return None
    if not math.isfinite(seconds):
        return None
    days = math.floor(seconds / _SECONDS_PER_DAY)
    hour = (seconds - days * _SECONDS_PER_DAY) / 3600
    return Moment(min(max(hour, 0.0), 24 - 1e-9), int((days + 3) % 7), True)  # 1970-01-01: a Thursday


def looks_like_time(cells: list[str]) -> bool:
    """More than half of the non-empty ``cells`` are ISO-8601 dates or date-times."""
    filled = [cell for cell in cells if cell]
    dated = sum(1 for cell in filled if _ISO.match(cell) and parse_time(cell) is not None)
    return bool(filled) and dated * 2 > len(filled)


def time_feature(moment: Moment, part: str) -> float:
    """The value of ``part`` (one of :data:`TIME_PARTS`) of a parsed time."""
    return moment.hour if part == "hour" else float(moment.weekday)


def _id_name(name: str) -> bool:
    return bool(_ID_NAME.search(name) or _CAMEL_ID.search(name))


def id_like_reason(name: str, cells: list[str]) -> str | None:
    """Why column ``name`` looks like an id (see the module docstring), or ``None``.

    Examples:
        >>> rows = range(30)
        >>> id_like_reason("order", [f"A{i:04d}" for i in rows])
        'a different text in every row'
        >>> id_like_reason("n", [str(1000 + i) for i in rows])
        'whole numbers counting up or down row by row'
        >>> id_like_reason("amount", [f"{i * 1.37:.2f}" for i in rows]) is None   # amounts with cents
        True
        >>> id_like_reason("paid", [str(i % 2) for i in rows]) is None            # repeats: not an id
        True
    """
    n = len(cells)
    if n < MIN_ROWS_FOR_ID or any(not cell for cell in cells):
        return None
    numbers = [as_number(cell) for cell in cells]
    is_text = any(number is None for number in numbers)
    distinct = len(set(cells)) if is_text else len(set(numbers))
    if distinct < n or (not is_text and not all(math.isfinite(x) for x in numbers)):
        return None
    if _id_name(name):
        return "a different value in every row, and a name ending in 'id'"
    if is_text:
        return "a different text in every row"
    if not all(x == math.floor(x) for x in numbers):
        return None                                   # a number with a fractional part: a measurement
    steps = [b - a for a, b in zip(numbers, numbers[1:])]
    if all(step > 0 for step in steps) or all(step < 0 for step in steps):
        return "whole numbers counting up or down row by row"
    if max(numbers) - min(numbers) == n - 1:
        return f"the whole numbers {min(numbers):.0f} to {max(numbers):.0f}, each once"
    return None
