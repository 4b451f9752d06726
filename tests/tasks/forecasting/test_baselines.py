"""The hand-written baselines against forecasts known by hand (a line, a season, a random walk)."""

from __future__ import annotations

import numpy as np

from tasks.forecasting import baselines as bl


def test_naive_is_the_random_walks_last_value():
    walk = np.cumsum(np.random.default_rng(0).normal(size=100)) + 50
    np.testing.assert_array_equal(bl.naive(walk, 5), np.full(5, walk[-1]))


def test_seasonal_naive_is_exact_on_a_pure_seasonal_series():
    pattern = np.array([3.0, 7.0, 1.0, 9.0, 4.0])
    x = np.tile(pattern, 6)
    future = np.tile(pattern, 3)[:12]
    np.testing.assert_allclose(bl.seasonal_naive(x, 12, m=5), future)
    np.testing.assert_allclose(bl.seasonal_naive(x[:3], 2, m=5), [1.0, 1.0])  # too short: naive


def test_mean_and_moving_average_by_hand():
    x = np.array([1.0, 2.0, 3.0, 10.0])
    np.testing.assert_allclose(bl.mean_forecast(x, 2), [4.0, 4.0])
    np.testing.assert_allclose(bl.moving_average(x, 3, window=2), [6.5, 6.5, 6.5])


def test_ses_with_alpha_one_is_naive_and_alpha_by_hand():
    x = np.array([4.0, 8.0, 2.0, 6.0])
    np.testing.assert_allclose(bl.ses(x, 3, alpha=1.0), bl.naive(x, 3))
    # α = 0.5: levels 4, 6, 4, 5
    np.testing.assert_allclose(bl.ses(x, 2, alpha=0.5), [5.0, 5.0])
    np.testing.assert_allclose(bl.ses(np.full(10, 3.0), 4), np.full(4, 3.0))


def test_damped_trend_continues_a_line_without_damping():
    x = 2.0 + 3.0 * np.arange(20)
    exact = bl.damped_trend(x, 4, alpha=1.0, beta=1.0, phi=1.0)
    np.testing.assert_allclose(exact, 2.0 + 3.0 * np.arange(20, 24))
    # with damping φ the increments shrink: 3φ, 3φ², ...
    damped = bl.damped_trend(x, 3, alpha=1.0, beta=1.0, phi=0.5)
    np.testing.assert_allclose(np.diff(np.r_[x[-1], damped]), [1.5, 0.75, 0.375])


def test_theta_on_a_line_is_half_line_half_last_value():
    x = 5.0 + 2.0 * np.arange(30)
    # SES on the θ=2 line (= the line itself) picks α = 1, i.e. the last value
    expected = 0.5 * (5.0 + 2.0 * np.arange(30, 33)) + 0.5 * x[-1]
    np.testing.assert_allclose(bl.theta(x, 3), expected, rtol=1e-9)


def test_naive2_is_naive_at_frequency_one_and_deseasonalises_otherwise():
    x = np.random.default_rng(1).uniform(1, 2, size=60)
    np.testing.assert_array_equal(bl.naive2(x, 4, m=1), bl.naive(x, 4))
    indices = np.array([0.5, 1.5, 1.2, 0.8])
    seasonal = 100.0 * np.tile(indices, 10)                  # constant level, multiplicative season
    assert bl.seasonality_test(seasonal, 4)
    np.testing.assert_allclose(bl.naive2(seasonal, 6, m=4), 100.0 * np.tile(indices, 2)[:6], rtol=1e-9)


def test_baseline_forecasts_has_every_method():
    out = bl.baseline_forecasts(np.arange(1.0, 30.0), 3)
    assert set(out) == set(bl.BASELINE_NAMES) and all(v.shape == (3,) for v in out.values())
