"""Loaders, bad input, and the hold-out split of the forecasting head."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasks.forecasting.data import SeriesSet, load_series, split_last, to_series_set
from tests.tasks.forecasting.series import write


def test_load_m4_ragged_rows(tmp_path):
    path = write(tmp_path, "m4.csv", '"V1","V2","V3","V4"\n"W1",1,2,3\n"W2",5,6,\n')
    data = load_series(path)
    assert data.format == "m4" and data.ids == ["W1", "W2"]
    np.testing.assert_array_equal(data.values[1], [5.0, 6.0])


def test_load_uci_ignores_normalised_columns(tmp_path):
    header = "Product_Code,W0,W1,W2,MIN,MAX,Normalized 0,Normalized 1,Normalized 2\n"
    path = write(tmp_path, "uci.csv", header + "P1,3,0,5,0,5,0.6,0.0,1.0\n")
    data = load_series(path)
    assert data.format == "uci"
    np.testing.assert_array_equal(data.values[0], [3.0, 0.0, 5.0])


def test_load_long_sorts_dates_and_builds_covariates(tmp_path):
    path = write(tmp_path, "long.csv", "series_id,date,value,promo\n"
                                       "a,2024-01-15,3,1\na,2024-01-01,1,0\na,2024-01-08,2,0\nb,2024-01-01,7,0\n")
    data = load_series(path)
    assert data.format == "long" and data.covariate_names == ["promo"]
    np.testing.assert_array_equal(data.values[0], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(data.covariates[0][:, 0], [0.0, 0.0, 1.0])


@pytest.mark.parametrize("text, message", [
    ("", "the file is empty"),
    ('"V1","V2"\n', "no data rows"),
    ('"V1","V2","V3"\n"W1",1,abc\n',
     r"m4.csv, line 2, column 'V3' \(series 'W1', position 1\): expected a number, got 'abc'"),
    ('"V1","V2","V3"\n"W1",1,NaN\n', r"line 2, column 'V3'.*missing value \('NaN'\)"),
    ('"V1","V2","V3","V4"\n"W1",1,,3\n', r"line 2, column 'V3'.*missing value \(an empty cell\)"),
    ('"V1","V2","V3"\n"W1",1,-2\n', "position 1.*negative value"),
    ('"V1","V2"\n"W1",1\n"W1",2\n', r"line 3: series id 'W1' appears twice \(first at line 2\)"),
    ("foo,bar\n1,2\n", "line 1: cannot tell the layout"),
])
def test_bad_input_names_the_place(tmp_path, text, message):
    path = write(tmp_path, "m4.csv", text)
    with pytest.raises(ValueError, match=message):
        load_series(path)


def test_missing_file_and_horizon_longer_than_every_series(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_series(tmp_path / "nope.csv")
    data = load_series(write(tmp_path, "m4.csv", '"V1","V2","V3"\n"W1",1,2\n"W2",4,\n'))
    with pytest.raises(ValueError, match="longer than every series"):
        split_last(data, 5)


def test_to_series_set_reads_a_path_and_passes_a_set_through(tmp_path):
    path = write(tmp_path, "m4.csv", '"V1","V2","V3"\n"W1",1,2\n')
    data = to_series_set(str(path))
    assert data.ids == ["W1"] and to_series_set(data) is data
    with pytest.raises(TypeError, match="data: expected a path or a SeriesSet"):
        to_series_set([1.0, 2.0])


def test_split_last_keeps_dates_and_covariates_in_step(tmp_path):
    path = write(tmp_path, "long.csv", "series_id,date,value,promo\n"
                                       "a,2024-01-01,1,0\na,2024-01-08,2,1\na,2024-01-15,3,0\nb,2024-01-01,7,0\n")
    data = load_series(path)
    histories, actuals, kept = split_last(data, 1)
    assert kept == [0] and histories.ids == ["a"]                # b has one value: no hold-out
    np.testing.assert_array_equal(histories.covariates[0][:, 0], [0.0, 1.0])
    assert str(histories.dates[0][-1]) == "2024-01-08" and actuals[0].tolist() == [3.0]
    assert len(data.values[0]) == 3                              # the input is left as it was


@given(lengths=st.lists(st.integers(1, 12), min_size=1, max_size=6), h=st.integers(1, 5))
def test_split_last_histories_and_actuals_make_the_kept_series(lengths, h):
    data = SeriesSet(ids=[f"s{i}" for i in range(len(lengths))],
                     values=[np.arange(float(n)) + 100 * i for i, n in enumerate(lengths)], format="m4")
    if max(lengths) <= h:
        with pytest.raises(ValueError, match="longer than every series"):
            split_last(data, h)
        return
    histories, actuals, kept = split_last(data, h)
    assert kept == [i for i, n in enumerate(lengths) if n > h]
    for k, i in enumerate(kept):
        assert actuals[k].size == h and histories.ids[k] == data.ids[i]
        np.testing.assert_array_equal(np.concatenate([histories.values[k], actuals[k]]), data.values[i])


# --------------------------------------------------------------------------- users' own files


def test_a_spreadsheet_export_reads_bom_crlf_long_ids_and_chinese_names(tmp_path):
    long_id = "商品" + "x" * 200_000                                  # past csv's 128 KiB default
    text = f"series_id,date,value\r\n{long_id},2024-01-01,3\r\n{long_id},2024-01-08,4\r\n"
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeff".encode() + text.encode("utf-8"))
    data = load_series(path)
    assert data.ids == [long_id] and data.values[0].tolist() == [3.0, 4.0]


@pytest.mark.parametrize("raw, message", [
    (b"series_id,date,value,value\na,2024-01-01,1,2\n", r"line 1: column 'value' appears 2 times"),
    (b"series_id,date,value\na,2024-01-01,1\n\xe9,2024-01-08,2\n",
     r"latin\.csv, line 3: not UTF-8 text \(byte 0xe9\)"),
    (b"series_id,date,value\na,2024-01-01,1,9\n", r"line 2: expected 3 fields as in the header, got 4"),
    (b"series_id,date,value\na,2024-01-01\n", r"line 2: expected 3 fields as in the header, got 2"),
    (b"series_id,value\na,\x00\n", r"line 2: a NUL byte"),
])
def test_malformed_files_are_refused_naming_the_file_and_line(tmp_path, raw, message):
    path = tmp_path / "latin.csv"
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=message):
        load_series(path)


def test_a_long_file_takes_iso_date_times_and_unix_seconds(tmp_path):
    seconds = write(tmp_path, "unix.csv", "series_id,date,value\na,1704067200,1\na,1704672000,2\n")
    iso = write(tmp_path, "iso.csv", "series_id,date,value\na,2024-01-01 00:00:00,1\na,2024-01-08T00:00,2\n")
    for path in (seconds, iso):
        data = load_series(path)
        assert data.dates[0].dtype == np.dtype("datetime64[D]")          # midnights: dates
        assert [str(d) for d in data.dates[0]] == ["2024-01-01", "2024-01-08"]
    hourly = load_series(write(tmp_path, "hourly.csv", "series_id,date,value\na,2024-01-01 10:00,1\n"
                                                       "a,2024-01-01 09:00,2\n"))
    assert hourly.dates[0].dtype == np.dtype("datetime64[s]") and hourly.values[0].tolist() == [2.0, 1.0]


@pytest.mark.parametrize("cell, message", [
    ("", r"line 3, column 'date': .*got an empty cell \(a missing date\)"),
    ("NaN", r"line 3, column 'date': expected an ISO-8601 date"),
    ("inf", r"line 3, column 'date': expected an ISO-8601 date"),
    ("2024-02-30", r"line 3, column 'date': .*no such day"),
    ("2024-01-01", r"line 3, column 'date': series 'a' has this date twice \(also at line 2\)"),
])
def test_a_bad_or_missing_date_is_refused_with_file_line_and_column(tmp_path, cell, message):
    path = write(tmp_path, "sales.csv", f"series_id,date,value\na,2024-01-01,1\na,{cell},2\n")
    with pytest.raises(ValueError, match="sales.csv, " + message):
        load_series(path)


@pytest.mark.parametrize("value, promo, message", [
    ("", "0", r"line 2, column 'value': missing value \(an empty cell\); this head does not fill gaps"),
    ("NA", "0", r"line 2, column 'value': missing value \('NA'\)"),
    ("inf", "0", r"line 2, column 'value': expected a finite number, got 'inf'"),
    ("1e300", "0", r"line 2, column 'value': 1e\+300 is too large"),
    ("3", "", r"line 2, covariate column 'promo': missing covariate \(an empty cell\)"),
    ("3", "nan", r"line 2, covariate column 'promo': missing covariate \('nan'\)"),
    ("3", "-inf", r"line 2, covariate column 'promo': expected a finite number"),
    ("3", "yes", r"line 2, covariate column 'promo': expected a number, got 'yes'"),
])
def test_missing_and_non_finite_values_are_refused_not_filled(tmp_path, value, promo, message):
    path = write(tmp_path, "sales.csv", f"series_id,date,value,promo\na,2024-01-01,{value},{promo}\n")
    with pytest.raises(ValueError, match="sales.csv, " + message):
        load_series(path)
    negative = write(tmp_path, "price.csv", "series_id,date,value,discount\na,2024-01-01,3,-0.2\n")
    assert load_series(negative).covariates[0].tolist() == [[-0.2]]    # covariates may be negative


@pytest.mark.parametrize("text, message", [
    ("Product_Code,W0,W2\nP1,1,2\n", "line 1: week column W1 is missing"),
    ("Product_Code,W0,W00\nP1,1,2\n", "line 1: columns 'W0' and 'W00' are the same week"),
    ("Product_Code,W0,W1\nP1,1,\n", r"line 2, column 'W1' .*missing value"),
    ('"V1","V2","V3"\n"W1",1,2,3\n', "line 2: expected 3 fields as in the header, got 4"),
])
def test_wide_layouts_refuse_gaps_and_extra_cells(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        load_series(write(tmp_path, "wide.csv", text))


def test_a_series_set_built_in_python_is_checked_like_a_file():
    for values, message in (([np.array([1.0, np.nan])], "series 'a', position 1: nan is not a sales value"),
                            ([np.array([1.0, -2.0])], "position 1: -2.0 is not a sales value"),
                            ([np.array([])], "expected a non-empty 1-D array")):
        with pytest.raises(ValueError, match=message):
            to_series_set(SeriesSet(ids=["a"], values=values, format="m4"))
    with pytest.raises(ValueError, match="unique, non-empty strings"):
        to_series_set(SeriesSet(ids=["a", "a"], values=[np.ones(2), np.ones(2)], format="m4"))


_ids = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=8).filter(
    lambda s: s.strip() == s and s)


@given(series=st.dictionaries(_ids, st.lists(st.integers(0, 10**6), min_size=1, max_size=6), min_size=1,
                              max_size=4),
       unix=st.booleans())
def test_any_long_file_written_by_csv_writer_reads_back(tmp_path_factory, series, unix):
    path = tmp_path_factory.mktemp("roundtrip") / "sales.csv"
    start = np.datetime64("2024-01-01")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["series_id", "date", "value"])
        for series_id, values in series.items():
            for t, v in reversed(list(enumerate(values))):           # any order: sorted by date
                day = start + 7 * t
                writer.writerow([series_id, int(day.astype("datetime64[s]").astype(int)) if unix else day, v])
    data = load_series(path)
    assert data.ids == list(series)
    assert [v.tolist() for v in data.values] == [[float(x) for x in values] for values in series.values()]
    assert all(str(d[0]) == "2024-01-01" for d in data.dates)
