"""Loaders, bad input, and the hold-out split of the forecasting head."""

from __future__ import annotations

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
    ("", "empty file"),
    ('"V1","V2"\n', "no data rows"),
    ('"V1","V2","V3"\n"W1",1,abc\n', r"m4.csv:2: series 'W1' position 1 .*expected a number, got 'abc'"),
    ('"V1","V2","V3"\n"W1",1,NaN\n', "position 1.*missing value"),
    ('"V1","V2","V3","V4"\n"W1",1,,3\n', "position 1.*missing value inside"),
    ('"V1","V2","V3"\n"W1",1,-2\n', "position 1.*negative value"),
    ('"V1","V2"\n"W1",1\n"W1",2\n', "appears twice"),
    ("foo,bar\n1,2\n", "cannot detect the format"),
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
