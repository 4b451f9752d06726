"""What a column is to a risk model: times (ISO-8601 or Unix seconds) and ID-like columns."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasks.risk.columns import MIN_ROWS_FOR_ID, id_like_reason, looks_like_time, parse_time

ROWS = MIN_ROWS_FOR_ID + 10


@pytest.mark.parametrize("text, hour, weekday", [
    ("2024-03-01 14:05:00", 14 + 5 / 60, 4),          # what docs/howto/csv.md recommends
    ("2024-03-01T14:05:00", 14 + 5 / 60, 4),
    ("2024-03-01T14:05:00.250Z", 14 + 5 / 60 + 0.25 / 3600, 4),
    ("2024-03-01 14:05:00+01:00", 14 + 5 / 60, 4),    # the clock time as written, offset not applied
    ("2024-03-01 14:05", 14 + 5 / 60, 4),
    ("2024-03-03", 0.0, 6),                           # a Sunday, no clock time
    ("1709301900", 14 + 5 / 60, 4),                   # Unix seconds (UTC) of the first row
    ("0", 0.0, 3),                                    # 1970-01-01 was a Thursday
    ("-3600", 23.0, 2),
])
def test_times_are_iso_8601_or_unix_seconds(text, hour, weekday):
    moment = parse_time(text)
    assert moment.hour == pytest.approx(hour, abs=1e-6) and moment.weekday == weekday
    assert moment.has_clock == (text != "2024-03-03")


@pytest.mark.parametrize("text", ["", "nan", "NaN", "inf", "-inf", "1e400", "2024-02-30", "2024-13-01",
                                  "2024-03-01 25:00:00", "03/01/2024", "yesterday", "2024-3-1"])
def test_what_is_not_a_time_is_refused(text):
    assert parse_time(text) is None


def test_a_column_is_a_time_when_most_cells_are_iso_dates():
    assert looks_like_time(["2024-03-01", "", "2024-03-02 10:00:00", "nan"])       # 2 of 3 filled cells
    assert not looks_like_time(["2024-03-01", "x", "y"])
    assert not looks_like_time(["20240301", "20240302"])                            # numbers, not ISO
    assert not looks_like_time(["", ""])


@pytest.mark.parametrize("name, cells, expected", [
    ("order_id", [f"{i * 1.37:.2f}" for i in range(ROWS)], "name ending in 'id'"),    # even floats
    ("ID", [str(i) for i in range(ROWS)], "name ending in 'id'"),
    ("orderId", [f"o{i}" for i in range(ROWS)], "name ending in 'id'"),
    ("reference", [f"A{i * 7919 % 1000:04d}" for i in range(ROWS)], "a different text in every row"),
    ("n", [str(5000 - 3 * i) for i in range(ROWS)], "counting up or down"),
    ("n", random.Random(1).sample([str(100 + i) for i in range(ROWS)], ROWS), "the whole numbers 100 to"),
])
def test_columns_that_look_like_ids(name, cells, expected):
    assert expected in id_like_reason(name, cells)


@pytest.mark.parametrize("name, cells", [
    ("paid", [str(i % 2) for i in range(ROWS)]),                          # repeats: a feature
    ("order_id", [str(i) for i in range(ROWS - 1)] + [""]),               # an empty cell: not every row
    ("bill", [str(i * 7919 % 10007) for i in range(1, ROWS + 1)]),        # unique whole numbers, no order
    ("n", [str(i) for i in range(MIN_ROWS_FOR_ID - 1)]),                  # too few rows to tell
    ("valid", [f"{i}.5" for i in range(ROWS)]),                           # 'valid': not the word id
])
def test_columns_that_do_not_look_like_ids(name, cells):
    assert id_like_reason(name, cells) is None


@given(st.lists(st.integers(1, 10**7), min_size=ROWS, max_size=200, unique=True), st.randoms())
def test_amounts_with_cents_are_never_ids_even_when_unique_and_sorted(cents, rng):
    """A float column (amounts with cents) stays a feature, sorted or not, unless its name says id."""
    amounts = [f"{c // 100}.{c % 100:02d}" for c in sorted(cents)]
    if all(c % 100 == 0 for c in cents):
        return                                                            # all whole: a different case
    assert id_like_reason("amount", amounts) is None
    rng.shuffle(amounts)
    assert id_like_reason("amount", amounts) is None
