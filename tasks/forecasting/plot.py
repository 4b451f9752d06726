"""One forecast as a picture: the history, the forecast, its P10–P90 band and the actuals.

matplotlib is optional (``pip install minitransformer[plot]``); it is imported only here, and
only when a plot is asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from minitransformer.pictures.plotting import new_figure, require_matplotlib, save_figure

if TYPE_CHECKING:
    from tasks.forecasting.ensemble import Forecasts

__all__ = ["plot_forecast", "plot_forecasts"]


def plot_forecast(path: Path, series_id: str, history: np.ndarray, forecast: np.ndarray,
                  lower: np.ndarray | None = None, upper: np.ndarray | None = None,
                  actual: np.ndarray | None = None, show_last: int = 156) -> Path:
    """Write a PNG to ``path``; ``show_last`` history points are drawn before the forecast."""
    require_matplotlib("--plot")
    n, h = history.size, forecast.size
    start = max(0, n - show_last)
    past = np.arange(start, n)
    future = np.arange(n, n + h)
    fig = new_figure(9, 4)
    ax = fig.subplots()
    ax.plot(past, history[start:], color="black", linewidth=1, label="history")
    if lower is not None and upper is not None:
        ax.fill_between(future, lower, upper, color="tab:blue", alpha=0.25, label="P10–P90")
    ax.plot(future, forecast, color="tab:blue", linewidth=2, label="forecast (P50)")
    if actual is not None:
        ax.plot(future[:actual.size], actual, color="tab:red", linewidth=1.5, label="actual")
    ax.set_title(f"series {series_id}")
    ax.set_xlabel("step")
    ax.legend(loc="upper left")
    return save_figure(fig, path)


def plot_forecasts(path: Path, forecasts: Forecasts, index: int = 0, show_last: int = 156) -> Path:
    """Draw series ``index`` of what :func:`~tasks.forecasting.predict` returned: its history,
    the P50, the band of the lowest and highest quantiles (if any) and the actuals (if known)."""
    band = forecasts.band()
    lower, upper = (band[0][index], band[1][index]) if band is not None else (None, None)
    actual = None if forecasts.actuals is None else np.asarray(forecasts.actuals[index])
    return plot_forecast(path, forecasts.ids[index], forecasts.histories[index], forecasts.point[index],
                         lower, upper, actual, show_last)
