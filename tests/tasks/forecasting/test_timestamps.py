"""Timestamps: what a ``date`` cell may hold, what is refused, and the next dates of a series."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasks.forecasting.timestamps import as_dates, format_timestamp, future_dates, parse_timestamp


@pytest.mark.parametrize("cell, expected", [
    ("2024-03-01", "2024-03-01T00:00:00"),
    ("2024-03-01 14:05:00", "2024-03-01T14:05:00"),
    ("2024-03-01T14:05", "2024-03-01T14:05:00"),
    ("2024-03-01 14:05:00.250", "2024-03-01T14:05:00"),
    ("2024-03-01T14:05:00Z", "2024-03-01T14:05:00"),
    ("2024-03-01T14:05:00+01:00", "2024-03-01T13:05:00"),      # converted to UTC
    ("1709251200", "2024-03-01T00:00:00"),                      # Unix seconds
    (" 2024-03-01 ", "2024-03-01T00:00:00"),
])
def test_iso_dates_date_times_and_unix_seconds_are_read(cell, expected):
    assert str(parse_timestamp(cell)) == expected


@pytest.mark.parametrize("cell", ["", "NaN", "nan", "inf", "-inf", "NaT", "01/03/2024", "2024-02-30",
                                  "2024-03-01T25:00", "1.7e9", "March 1st", "2024-3-1"])
def test_anything_else_is_refused_saying_what_is_accepted(cell):
    with pytest.raises(ValueError, match="expected an ISO-8601 date .* or Unix seconds"):
        parse_timestamp(cell)


@given(st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1)))
def test_an_iso_timestamp_and_its_unix_seconds_read_the_same(moment):
    moment = moment.replace(microsecond=0)
    iso = parse_timestamp(moment.isoformat(sep=" "))
    unix = parse_timestamp(str(int(moment.replace(tzinfo=dt.timezone.utc).timestamp())))
    assert iso == unix == np.datetime64(moment, "s")


def test_midnights_are_dates_and_other_times_stay_timestamps():
    days = as_dates(np.array(["2024-01-01", "2024-01-08"], "datetime64[s]"))
    hours = as_dates(np.array(["2024-01-01T10:00", "2024-01-01T11:00"], "datetime64[s]"))
    assert days.dtype == np.dtype("datetime64[D]") and hours.dtype == np.dtype("datetime64[s]")
    assert format_timestamp(days[0]) == "2024-01-01" and format_timestamp(hours[1]) == "2024-01-01 11:00:00"


@given(start=st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 1, 1)),
       step=st.sampled_from([1, 7, 14]), n=st.integers(2, 30), h=st.integers(1, 20))
def test_the_next_dates_continue_a_regular_daily_or_weekly_step(start, step, n, h):
    dates = np.datetime64(start, "D") + step * np.arange(n)
    expected = dates[-1] + step * np.arange(1, h + 1)
    np.testing.assert_array_equal(future_dates(dates, h), expected)


def test_monthly_series_step_by_calendar_months():
    firsts = np.array(["2024-01-01", "2024-02-01", "2024-03-01"], "datetime64[D]")
    assert [format_timestamp(d) for d in future_dates(firsts, 3)] == ["2024-04-01", "2024-05-01",
                                                                      "2024-06-01"]
    ends = np.array(["2023-11-30", "2023-12-31", "2024-01-31"], "datetime64[D]")
    assert [format_timestamp(d) for d in future_dates(ends, 2)] == ["2024-02-29", "2024-03-31"]
    quarters = np.array(["2023-01-15", "2023-04-15", "2023-07-15"], "datetime64[D]")
    assert [format_timestamp(d) for d in future_dates(quarters, 1)] == ["2023-10-15"]


def test_hourly_timestamps_step_by_the_hour_and_one_date_by_a_week():
    hours = np.array(["2024-01-01T10:00", "2024-01-01T11:00"], "datetime64[s]")
    assert format_timestamp(future_dates(hours, 2)[-1]) == "2024-01-01 13:00:00"
    assert format_timestamp(future_dates(np.array(["2024-01-01"], "datetime64[D]"), 1)[0]) == "2024-01-08"
