"""Statistical baselines, written by hand: every forecast the model is compared against.

Each function takes one series' history ``x_1..x_n`` (a 1-D array) and the horizon ``h`` and
returns the ``h`` forecasts ``ŷ_{n+1..n+h}``:

* naive                  ``ŷ_{n+k} = x_n``
* seasonal naive (m)     ``ŷ_{n+k} = x_{n+k−m·⌈k/m⌉}`` (the value one season back; naive if n < m)
* mean                   ``ŷ_{n+k} = mean(x)``
* moving average (w)     ``ŷ_{n+k} = mean(x_{n−w+1..n})``
* SES (α)                ``ℓ_t = α x_t + (1−α) ℓ_{t−1}``, ``ŷ_{n+k} = ℓ_n``
* damped trend (Holt)    ``ℓ_t = α x_t + (1−α)(ℓ_{t−1} + φ b_{t−1})``,
  ``b_t = β (ℓ_t − ℓ_{t−1}) + (1−β) φ b_{t−1}``, ``ŷ_{n+k} = ℓ_n + (φ + … + φ^k) b_n``
* Theta (M4's "Theta")   ``½`` the linear-regression line extrapolated + ``½`` SES on the
  "theta line" ``2x − line`` (Assimakopoulos & Nikolopoulos 2000; the M4 benchmark form)
* Naive2 (M4)            naive on the seasonally adjusted series when a 90 % autocorrelation
  test at lag m finds seasonality (multiplicative classical decomposition), else naive; for
  M4 Weekly (m = 1) it *is* naive.

Smoothing parameters are fitted by grid search on the in-sample one-step-ahead squared error,
the grid evaluated for all parameter values at once (vectorised over the grid, looped over time).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["naive", "seasonal_naive", "mean_forecast", "moving_average", "ses", "damped_trend",
           "theta", "naive2", "seasonality_test", "seasonal_indices", "BASELINE_NAMES",
           "baseline_forecasts"]


def _history(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"history: expected a non-empty 1-D series, got shape {x.shape}")
    return x


def naive(x, h: int) -> np.ndarray:
    """The last value, repeated."""
    return np.full(h, _history(x)[-1])


def seasonal_naive(x, h: int, m: int) -> np.ndarray:
    """The value one season (``m`` steps) back; plain naive when the history is shorter than m."""
    x = _history(x)
    if m <= 1 or x.size < m:
        return naive(x, h)
    last_season = x[-m:]                                     # (m,)
    return np.array([last_season[k % m] for k in range(h)])


def mean_forecast(x, h: int) -> np.ndarray:
    """The mean of the whole history."""
    return np.full(h, _history(x).mean())


def moving_average(x, h: int, window: int) -> np.ndarray:
    """The mean of the last ``window`` values (all of them if the history is shorter)."""
    return np.full(h, _history(x)[-window:].mean())


def _ses_levels(x: np.ndarray, alphas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run SES for every alpha at once: (final levels (A,), in-sample one-step SSE (A,))."""
    level = np.full(alphas.shape, x[0])                      # ℓ_1 = x_1
    sse = np.zeros(alphas.shape)
    for value in x[1:]:
        sse += (value - level) ** 2                          # one-step forecast of x_t is ℓ_{t−1}
        level = alphas * value + (1.0 - alphas) * level
    return level, sse


def ses(x, h: int, alpha: float | None = None) -> np.ndarray:
    """Simple exponential smoothing; ``alpha=None`` picks it from a grid on [0.01, 1]."""
    x = _history(x)
    alphas = np.linspace(0.01, 1.0, 100) if alpha is None else np.array([float(alpha)])
    levels, sse = _ses_levels(x, alphas)
    return np.full(h, levels[np.argmin(sse)])


def damped_trend(x, h: int, alpha: float | None = None, beta: float | None = None,
                 phi: float | None = None) -> np.ndarray:
    """Holt's damped-trend exponential smoothing; parameters left None are grid-searched."""
    x = _history(x)
    if x.size < 3:
        return naive(x, h)
    grid = np.meshgrid(
        np.array([alpha]) if alpha is not None else np.linspace(0.05, 1.0, 12),
        np.array([beta]) if beta is not None else np.array([0.01, 0.05, 0.1, 0.2, 0.4]),
        np.array([phi]) if phi is not None else np.array([0.8, 0.88, 0.94, 0.98]),
        indexing="ij")
    a, b, p = (g.ravel() for g in grid)                      # (G,) each
    level = np.full(a.shape, x[0])
    trend = np.full(a.shape, x[1] - x[0])
    sse = np.zeros(a.shape)
    for value in x[1:]:
        predicted = level + p * trend                        # one-step forecast
        sse += (value - predicted) ** 2
        new_level = a * value + (1.0 - a) * predicted
        trend = b * (new_level - level) + (1.0 - b) * p * trend
        level = new_level
    best = int(np.argmin(sse))
    damping = np.cumsum(p[best] ** np.arange(1, h + 1))      # φ + φ² + … + φ^k
    return level[best] + damping * trend[best]


def theta(x, h: int) -> np.ndarray:
    """M4's Theta benchmark: mean of the regression line (θ=0) and SES on the θ=2 line."""
    x = _history(x)
    n = x.size
    if n < 3:
        return naive(x, h)
    t = np.arange(1, n + 1, dtype=np.float64)
    slope, intercept = np.polyfit(t, x, 1)
    line_in = intercept + slope * t                          # θ = 0 line, in sample
    line_out = intercept + slope * np.arange(n + 1, n + h + 1)
    theta2 = 2.0 * x - line_in                               # θ = 2 line: doubled curvature
    return 0.5 * line_out + 0.5 * ses(theta2, h)


def seasonality_test(x, m: int) -> bool:
    """M4's test: is |ACF(m)| above the 90 % limit 1.645 / √n · √(1 + 2 Σ_{k<m} ACF(k)²)?"""
    x = _history(x)
    if m <= 1 or x.size < 3 * m:
        return False
    centred = x - x.mean()
    denominator = float(np.sum(centred ** 2))
    if denominator == 0:
        return False
    acf = np.array([np.sum(centred[k:] * centred[:-k]) for k in range(1, m + 1)]) / denominator
    limit = 1.645 / np.sqrt(x.size) * np.sqrt(1.0 + 2.0 * np.sum(acf[:-1] ** 2))
    return bool(abs(acf[-1]) > limit)


def seasonal_indices(x, m: int) -> np.ndarray:
    """Multiplicative classical decomposition: the ``m`` seasonal indices (mean 1).

    Index ``j`` belongs to positions ``t ≡ j (mod m)`` counted from the first value.
    """
    x = _history(x)
    if m % 2:                                                # centred moving average of order m
        trend = np.convolve(x, np.ones(m) / m, mode="valid")
        offset = m // 2
    else:                                                    # 2×m moving average
        weights = np.r_[0.5, np.ones(m - 1), 0.5] / m
        trend = np.convolve(x, weights, mode="valid")
        offset = m // 2
    ratios = x[offset:offset + trend.size] / trend
    positions = (np.arange(trend.size) + offset) % m
    indices = np.array([ratios[positions == j].mean() for j in range(m)])
    return indices / indices.mean()


def naive2(x, h: int, m: int = 1) -> np.ndarray:
    """Naive on the seasonally adjusted series if the series is seasonal at lag m, else naive."""
    x = _history(x)
    if m <= 1 or not seasonality_test(x, m) or np.any(x <= 0):
        return naive(x, h)
    indices = seasonal_indices(x, m)
    position = np.arange(x.size) % m
    adjusted_last = x[-1] / indices[position[-1]]
    future = np.arange(x.size, x.size + h) % m
    return adjusted_last * indices[future]


#: the baselines every evaluation prints, in order
BASELINE_NAMES = ("Naive2", "Naive", "SeasonalNaive", "Mean", "MovingAverage", "SES", "Damped", "Theta")


def baseline_forecasts(x, h: int, season: int = 52, frequency: int = 1, window: int | None = None,
                       names: tuple[str, ...] = BASELINE_NAMES) -> dict[str, np.ndarray]:
    """Every baseline's forecast for one series: ``{name: (h,) array}``.

    ``season`` is the period of seasonal naive; ``frequency`` M4's frequency, used by Naive2's
    seasonality test (1 for Weekly, so Naive2 = naive there); ``window`` the moving-average
    length (default: the horizon).
    """
    methods: dict[str, Callable[[], np.ndarray]] = {
        "Naive2": lambda: naive2(x, h, frequency),
        "Naive": lambda: naive(x, h),
        "SeasonalNaive": lambda: seasonal_naive(x, h, season),
        "Mean": lambda: mean_forecast(x, h),
        "MovingAverage": lambda: moving_average(x, h, window or h),
        "SES": lambda: ses(x, h),
        "Damped": lambda: damped_trend(x, h),
        "Theta": lambda: theta(x, h),
    }
    unknown = sorted(set(names) - set(methods))
    if unknown:
        raise ValueError(f"baselines: unknown name(s) {unknown}; known: {sorted(methods)}")
    return {name: methods[name]() for name in names}
