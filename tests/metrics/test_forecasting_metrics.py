"""Forecast metrics on hand-computed cases, with scikit-learn as an oracle for MAE/RMSE."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import mean_absolute_error, mean_pinball_loss, mean_squared_error

from minitransformer.metrics.forecasting import (
    mae,
    mase,
    mase_scale,
    owa,
    pinball_loss,
    rmse,
    score_forecasts,
    smape,
)


def test_mae_rmse_by_hand():
    y, f = [1.0, 2.0, 4.0], [2.0, 2.0, 1.0]                 # errors 1, 0, 3
    assert mae(y, f) == pytest.approx(4 / 3)
    assert rmse(y, f) == pytest.approx(math.sqrt(10 / 3))


@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=20), st.integers(0, 10**6))
def test_mae_rmse_match_sklearn(values, seed):
    y = np.array(values)
    f = y + np.random.default_rng(seed).normal(size=y.size)
    assert mae(y, f) == pytest.approx(mean_absolute_error(y, f))
    assert rmse(y, f) == pytest.approx(math.sqrt(mean_squared_error(y, f)))


@pytest.mark.exercise("7.2")
def test_smape_by_hand():
    # |10−8|/(10+8) = 1/9 and |20−25|/(20+25) = 1/9: sMAPE = 200/2 · 2/9 = 22.22 %
    assert smape([10.0, 20.0], [8.0, 25.0]) == pytest.approx(200 / 9)
    assert smape([5.0, 5.0], [5.0, 5.0]) == 0.0
    assert smape([3.0], [0.0]) == pytest.approx(200.0)       # the maximum


@pytest.mark.exercise("7.2")
def test_smape_zero_over_zero_counts_as_exact():
    assert smape([0.0, 4.0], [0.0, 2.0]) == pytest.approx(100 * (2 / 6))


@pytest.mark.exercise("7.2")
def test_mase_by_hand():
    history = [1.0, 3.0, 2.0, 4.0]                           # |diffs| = 2, 1, 2 -> scale 5/3
    assert mase_scale(history) == pytest.approx(5 / 3)
    assert mase([5.0, 6.0], [4.0, 4.0], history) == pytest.approx(1.5 / (5 / 3))
    # seasonal lag m = 2: |2−1|, |4−3| -> scale 1
    assert mase_scale(history, m=2) == pytest.approx(1.0)
    assert mase([5.0, 6.0], [4.0, 4.0], history, m=2) == pytest.approx(1.5)


@pytest.mark.exercise("7.2")
def test_mase_flat_or_short_history_is_undefined():
    assert math.isnan(mase_scale([7.0, 7.0, 7.0]))
    assert math.isnan(mase([1.0], [2.0], [7.0, 7.0]))
    assert math.isnan(mase_scale([7.0]))                     # no difference at all


def test_owa_by_hand():
    assert owa(9.0, 2.0, 10.0, 4.0) == pytest.approx(0.5 * (0.9 + 0.5))
    assert owa(10.0, 4.0, 10.0, 4.0) == pytest.approx(1.0)   # Naive2 against itself


def test_pinball_loss_by_hand_and_sklearn():
    y = np.array([10.0, 10.0])
    f = np.array([[8.0, 12.0], [11.0, 9.0]])                 # quantiles 0.1, 0.9
    # q=0.1: errors +2 -> 0.2, −1 -> 0.9 ; q=0.9: errors −2 -> 0.2, +1 -> 0.9 ; mean 0.55
    assert pinball_loss(y, f, [0.1, 0.9]) == pytest.approx(0.55)
    rng = np.random.default_rng(0)
    y = rng.normal(size=50)
    f = rng.normal(size=(50, 1))
    assert pinball_loss(y, f, [0.3]) == pytest.approx(mean_pinball_loss(y, f[:, 0], alpha=0.3))
    assert pinball_loss(y, f, [0.5]) == pytest.approx(0.5 * mae(y, f[:, 0]))


def test_score_forecasts_averages_per_series_and_counts_flat():
    actuals = [np.array([2.0, 2.0]), np.array([5.0, 5.0])]
    forecasts = [np.array([1.0, 1.0]), np.array([5.0, 7.0])]
    histories = [np.array([0.0, 1.0, 2.0]), np.array([3.0, 3.0, 3.0])]  # the second is flat
    scores = score_forecasts(actuals, forecasts, histories)
    assert scores["MASE"] == pytest.approx(1.0)               # only the first series: 1 / 1
    assert scores["mase_skipped"] == 1
    assert scores["MAE"] == pytest.approx(4 / 4)               # pooled errors 1, 1, 0, 2
    assert scores["sMAPE"] == pytest.approx((200 / 3 + 100 * (2 / 12)) / 2)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="shapes differ"):
        mae([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="no values"):
        smape([], [])
