"""Training windows cut from every series, and the model inputs for a forecast.

A window ending at ``t`` of a series ``x`` is::

    context  = x[t−C : t]   (left-padded with zeros where t < C; observed = 0 there)
    target   = x[t : t+H]

Every series with at least ``H + 1`` values gives windows (a full target and at least
``min(C, H)`` observed context values, or all the series has); a series shorter than
``C + H`` is **padded**, not dropped. Only a series
with ``≤ H`` values gives none (it has no full target); :class:`WindowDataset` counts both kinds.

Sampling: a long series has thousands of cut points, a short one a few dozen. Each series
contributes at most ``windows_per_series`` of its cut points (drawn once, seeded) from its
most recent ``max_history`` values, so the long series do not drown the short ones and old
history does not outweigh the recent.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from tasks.forecasting.data import SeriesSet, calendar_features, future_dates

__all__ = ["WindowDataset", "cut_window", "series_covariates", "forecast_batch"]


def cut_window(x: np.ndarray, end: int, context: int, horizon: int,
               covariates: np.ndarray | None = None, future_cov: np.ndarray | None = None) -> dict:
    """The window ending at ``end`` (``x[:end]`` is history); the target is omitted past the end.

    ``covariates`` ``(n, K)`` covers the series; ``future_cov`` ``(H, K)`` the steps after it
    (needed only when ``end + H > n``).
    """
    start = max(0, end - context)
    history = x[start:end]
    values = np.zeros(context, dtype=np.float32)
    observed = np.zeros(context, dtype=np.float32)
    values[context - history.size:] = history
    observed[context - history.size:] = 1.0
    item = {"values": torch.from_numpy(values), "observed": torch.from_numpy(observed)}
    if end + horizon <= x.size:
        item["target"] = torch.from_numpy(x[end:end + horizon].astype(np.float32))
    if covariates is not None:
        k = covariates.shape[1]
        full = covariates if future_cov is None else np.concatenate([covariates, future_cov])
        cov = np.zeros((context + horizon, k), dtype=np.float32)
        piece = full[start:end + horizon]
        cov[context - history.size:context - history.size + len(piece)] = piece
        item["covariates"] = torch.from_numpy(cov)
    return item


def series_covariates(data: SeriesSet, i: int, horizon: int = 0,
                      future_extra: np.ndarray | None = None) -> np.ndarray | None:
    """Series ``i``'s covariates ``(n [+ horizon], K)``: calendar features, then extra columns.

    With ``horizon``, the ``horizon`` future steps are appended: calendar features from the
    extrapolated dates, extra columns from ``future_extra`` ``(horizon, K_extra)`` or 0 (e.g.
    "no promotion planned") when it is not given.
    """
    parts = []
    if data.dates is not None:
        dates = data.dates[i]
        if horizon:
            dates = np.concatenate([dates, future_dates(dates, horizon)])
        parts.append(calendar_features(dates))
    if data.covariates is not None:
        extra = data.covariates[i]
        if horizon:
            future = future_extra if future_extra is not None else np.zeros((horizon, extra.shape[1]))
            extra = np.concatenate([extra, future])
        parts.append(extra)
    return np.concatenate(parts, axis=1).astype(np.float32) if parts else None


def n_covariates(data: SeriesSet) -> int:
    """K: 4 calendar features when the data has dates, plus the extra columns."""
    return (4 if data.dates is not None else 0) + len(data.covariate_names)


class WindowDataset(Dataset):
    """Map-style dataset of training windows (dicts of tensors) over all series.

    Attributes:
        n_series, n_padded (shorter than C + H: padded windows), n_skipped (≤ H values: no
        window), n_windows.
    """

    def __init__(self, data: SeriesSet, context: int, horizon: int, windows_per_series: int = 200,
                 max_history: int | None = None, seed: int = 0):
        self.data, self.context, self.horizon = data, context, horizon
        self.covariates = [series_covariates(data, i) for i in range(len(data))]
        rng = np.random.default_rng(seed)
        self.index: list[tuple[int, int]] = []                     # (series, end)
        self.n_series, self.n_padded, self.n_skipped = len(data), 0, 0
        for i, x in enumerate(data.values):
            n = x.size
            if n <= horizon:
                self.n_skipped += 1
                continue
            self.n_padded += n < context + horizon
            first = min(min(context, horizon), n - horizon)        # ≥ min(C, H) observed if possible
            if max_history is not None:
                first = max(first, n - max_history)
            ends = np.arange(first, n - horizon + 1)               # full target
            if ends.size > windows_per_series:
                ends = np.sort(rng.choice(ends, windows_per_series, replace=False))
            self.index.extend((i, int(end)) for end in ends)
        self.n_windows = len(self.index)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, k: int) -> dict:
        i, end = self.index[k]
        return cut_window(self.data.values[i], end, self.context, self.horizon, self.covariates[i])

    def summary(self) -> str:
        return (f"{self.n_windows} windows from {self.n_series - self.n_skipped} of {self.n_series} series "
                f"({self.n_padded} shorter than context+horizon, padded; {self.n_skipped} with at most "
                f"{self.horizon} values, too short for a training window)")


def forecast_batch(data: SeriesSet, context: int, horizon: int,
                   future_extra: dict[str, np.ndarray] | None = None) -> dict:
    """Model inputs to forecast the ``horizon`` steps after the end of every series (stacked)."""
    items = []
    for i, x in enumerate(data.values):
        extra = (future_extra or {}).get(data.ids[i])
        cov = series_covariates(data, i, horizon, extra)
        n = x.size
        items.append(cut_window(x, n, context, horizon, None if cov is None else cov[:n],
                                None if cov is None else cov[n:]))
    return {key: torch.stack([item[key] for item in items]) for key in items[0] if key != "target"}
