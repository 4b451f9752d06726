"""Forecast accuracy: MAE, RMSE, MASE, sMAPE, OWA (as the M4 competition defines them), pinball.

Notation for one series: the history (in-sample part) ``x_1..x_n``, the actual future values
``y_1..y_h`` and the forecasts ``ŷ_1..ŷ_h``.

* ``MAE  = (1/h) Σ |y_t − ŷ_t|``             ``RMSE = sqrt((1/h) Σ (y_t − ŷ_t)²)``
* ``sMAPE = (200/h) Σ |y_t − ŷ_t| / (|y_t| + |ŷ_t|)``           (percent, in [0, 200])
* ``MASE = [(1/h) Σ |y_t − ŷ_t|] / [(1/(n−m)) Σ_{t=m+1..n} |x_t − x_{t−m}|]``
  -- the forecast error relative to the in-sample error of the seasonal-naive forecast with
  period ``m`` (``m = 1`` for M4 Weekly: the scale is the one-step naive error).
* ``OWA = ½ (sMAPE / sMAPE_Naive2 + MASE / MASE_Naive2)`` -- computed on the *averages* over
  all series, relative to the Naive2 benchmark; below 1 beats Naive2.
* pinball (quantile) loss for quantile ``q``: ``mean max(q (y − ŷ_q), (q − 1)(y − ŷ_q))``.

Multi-series scores follow M4: sMAPE and MASE are computed per series, then averaged over the
series (MAE and RMSE pool all forecast points). Guards (documented, never silent): a series
whose MASE scale is zero (a flat history, or one shorter than ``m + 1``) has no MASE and is
left out of the MASE average; a time step where ``|y| + |ŷ| = 0`` adds 0 to sMAPE (the
forecast is exact). :func:`score_forecasts` reports how many series were left out.

All functions take NumPy arrays (or lists) and return Python floats.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["mae", "rmse", "smape", "mase_scale", "mase", "owa", "pinball_loss", "score_forecasts"]


def _pair(actual, forecast) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(actual, dtype=np.float64)
    f = np.asarray(forecast, dtype=np.float64)
    if y.shape != f.shape:
        raise ValueError(f"actual and forecast shapes differ: {y.shape} vs {f.shape}")
    if y.size == 0:
        raise ValueError("actual: no values to score")
    return y, f


def mae(actual, forecast) -> float:
    """Mean absolute error."""
    y, f = _pair(actual, forecast)
    return float(np.mean(np.abs(y - f)))


def rmse(actual, forecast) -> float:
    """Root mean squared error."""
    y, f = _pair(actual, forecast)
    return float(np.sqrt(np.mean((y - f) ** 2)))


def smape(actual, forecast) -> float:
    """M4's symmetric MAPE of one series, in percent: ``(200/h) Σ |y−ŷ| / (|y|+|ŷ|)``."""
    y, f = _pair(actual, forecast)
    # BEGIN EXERCISE 7.2
    denominator = np.abs(y) + np.abs(f)
    safe = np.where(denominator == 0, 1.0, denominator)  # |y|+|ŷ| = 0 means y = ŷ = 0: no error
    terms = np.where(denominator == 0, 0.0, np.abs(y - f) / safe)
    return float(200.0 * np.mean(terms))
    # END EXERCISE


def mase_scale(insample, m: int = 1) -> float:
    """The MASE denominator: mean ``|x_t − x_{t−m}|`` over the history (nan if undefined or 0)."""
    x = np.asarray(insample, dtype=np.float64)
    if m < 1:
        raise ValueError(f"m: expected a positive season length, got {m}")
    # BEGIN EXERCISE 7.2
    if x.size <= m:
        return float("nan")  # no lag-m difference exists
    scale = float(np.mean(np.abs(x[m:] - x[:-m])))
    return scale if scale > 0 else float("nan")  # a flat history: MASE undefined
    # END EXERCISE


def mase(actual, forecast, insample, m: int = 1) -> float:
    """Mean absolute scaled error of one series (nan when the history's scale is zero)."""
    scale = mase_scale(insample, m)
    return mae(actual, forecast) / scale if np.isfinite(scale) else float("nan")


def owa(smape_model: float, mase_model: float, smape_naive2: float, mase_naive2: float) -> float:
    """M4's overall weighted average of the two relative errors (on the averaged metrics)."""
    if smape_naive2 <= 0 or mase_naive2 <= 0:
        raise ValueError("owa: Naive2's sMAPE and MASE must be positive")
    return 0.5 * (smape_model / smape_naive2 + mase_model / mase_naive2)


def pinball_loss(actual, quantile_forecasts, quantiles: Sequence[float]) -> float:
    """Mean pinball loss; ``quantile_forecasts`` has a last axis of ``len(quantiles)``.

    ``actual`` ``(..., )`` and ``quantile_forecasts`` ``(..., Q)``. For ``q = 0.5`` this is half
    the MAE of the median forecast.
    """
    y = np.asarray(actual, dtype=np.float64)[..., None]       # (..., 1)
    f = np.asarray(quantile_forecasts, dtype=np.float64)       # (..., Q)
    q = np.asarray(quantiles, dtype=np.float64)                # (Q,)
    if f.shape[-1] != q.size or f.shape[:-1] != y.shape[:-1]:
        raise ValueError(f"quantile_forecasts: expected shape {y.shape[:-1] + (q.size,)}, got {f.shape}")
    if np.any((q <= 0) | (q >= 1)):
        raise ValueError(f"quantiles: expected values in (0, 1), got {q.tolist()}")
    error = y - f
    return float(np.mean(np.maximum(q * error, (q - 1.0) * error)))


def score_forecasts(actuals: Sequence, forecasts: Sequence, insamples: Sequence, m: int = 1) -> dict:
    """Score many series the M4 way: each metric per series, then the mean over series.

    Args:
        actuals, forecasts: one array of ``h`` values per series.
        insamples: each series' history (for the MASE scale).
        m: the season length of the MASE scale.

    Returns:
        ``{"MAE", "RMSE", "MASE", "sMAPE", "series", "mase_series", "mase_skipped"}``. MAE and
        RMSE pool all forecast points (M4 defines neither; pooled RMSE is what the UCI
        reference table uses); ``mase_skipped`` counts series without a MASE scale (flat or
        too short), which are left out of the MASE mean.
    """
    if not (len(actuals) == len(forecasts) == len(insamples)):
        raise ValueError("actuals, forecasts and insamples must hold the same number of series")
    if len(actuals) == 0:
        raise ValueError("no series to score")
    errors = np.concatenate([np.asarray(y, np.float64) - np.asarray(f, np.float64)
                             for y, f in zip(actuals, forecasts)])
    smapes = [smape(y, f) for y, f in zip(actuals, forecasts)]
    mases = np.array([mase(y, f, x, m) for y, f, x in zip(actuals, forecasts, insamples)])
    finite = np.isfinite(mases)
    return {"MAE": float(np.mean(np.abs(errors))), "RMSE": float(np.sqrt(np.mean(errors ** 2))),
            "MASE": float(np.mean(mases[finite])) if finite.any() else float("nan"),
            "sMAPE": float(np.mean(smapes)), "series": len(actuals),
            "mase_series": int(finite.sum()), "mase_skipped": int((~finite).sum())}
