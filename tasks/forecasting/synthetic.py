"""A seeded simulator of a shop's weekly sales: seasonality, trend, promotions and noise.

Real sales histories belong to shops; this simulator (our own design) gives the forecasting
head, the demo and the tests many series whose structure is known. Product ``p`` sells, in
week ``t`` (``t = 0`` is the first Monday of ``start``), on average::

    mean_pt = level_p * (1 + growth_p * t / 52) * season_p(week of year of t) * lift_pt
    sales_pt ~ Poisson(mean_pt)

* ``level_p ~ LogNormal(log 40, 0.7)`` units a week (a few products sell a handful, a few hundreds);
* ``growth_p ~ Uniform(-0.15, 0.35)`` a year: most products grow, some fade;
* **yearly seasonality** ``season_p(w) = 1 + amplitude_p * (bump(w) / mean_w bump - 1)`` with the
  product's *profile* (a quarter each): ``winter`` (peaks around week 50: Christmas),
  ``summer`` (week 27), ``back-to-school`` (week 35) or ``all-year`` (a small bump);
  ``bump(w) = exp(cos(2 pi (w - peak) / 52) * 3)`` (a smooth bump a few weeks wide),
  ``amplitude_p ~ Uniform(0.4, 0.9)`` (``0.1`` for ``all-year``);
* **promotions**: each week is a promotion week with probability ``promo_rate`` (8 %), and
  then the mean is multiplied by ``lift_p ~ Uniform(1.6, 2.2)``; the ``promo`` column (0/1) says
  which weeks, including the future ones (a shop plans its promotions, so they are a *known
  future covariate*);
* **noise**: Poisson counts (integers), so a product selling 10 a week is noisier, relative to
  its level, than one selling 300.

**What a model should learn, and what the baselines cannot**: the seasonal naive forecast
(last year's value of the same week) copies last year's noise and last year's promotions and
misses the trend; smoothing methods (SES, damped trend, Theta) miss the season. A global model
trained on all products, that reads the calendar (week of year) and the promo column, can learn
the four season profiles, the growth and the promotion lift, and so forecast a promoted week
high and the week after it back to normal.

Output: the ``long`` format of :mod:`tasks.forecasting.data` -- ``series_id,date,value,promo``,
one row per product and week. ``minitransformer forecast simulate --out FILE`` writes it; with
``--holdout H`` it writes the last H weeks to a second file (``FILE`` with ``_test`` before the
suffix) for ``forecast evaluate --test`` (the promotions of those weeks are then known to the
model, their sales are not).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["SalesConfig", "PROFILES", "simulate_sales", "write_sales", "test_path", "MAX_CELLS"]

#: at most this many product-weeks (the simulator holds a few float arrays of that size)
MAX_CELLS = 5_000_000

#: season profile -> week of the year at its peak (None: all-year, a small bump around week 26)
PROFILES: dict[str, int | None] = {"winter": 50, "summer": 27, "back-to-school": 35, "all-year": None}


@dataclass
class SalesConfig:
    """The simulator's knobs (defaults: the demo's shop, 300 products over three years)."""

    products: int = 300
    weeks: int = 156
    start: str = "2022-01-03"        # a Monday
    promo_rate: float = 0.08
    seed: int = 0

    def __post_init__(self):
        for name, least in (("products", 1), ("weeks", 2), ("seed", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ValueError(f"{name}: expected an integer >= {least}, got {value!r}")
        if self.products * self.weeks > MAX_CELLS:
            raise ValueError(f"products x weeks: expected at most {MAX_CELLS:,} product-weeks, got "
                             f"{self.products} x {self.weeks}")
        if not 0.0 <= self.promo_rate <= 1.0:
            raise ValueError(f"promo_rate: expected a probability in [0, 1], got {self.promo_rate}")
        try:
            np.datetime64(self.start, "D")
        except ValueError:
            raise ValueError(f"start: expected a date YYYY-MM-DD, got {self.start!r}") from None


def _week_of_year(dates: np.ndarray) -> np.ndarray:
    """0..51: days since the 1st of January, over 7."""
    year_start = dates.astype("datetime64[Y]").astype("datetime64[D]")
    return np.minimum((dates - year_start).astype(int) // 7, 51)


def simulate_sales(config: SalesConfig | None = None) -> dict[str, np.ndarray | list[str]]:
    """Simulate; returns ``{"ids", "dates" (W,), "values" (P, W), "promo" (P, W), "mean" (P, W),
    "profile" (P,), "lift" (P,)}`` (``mean`` is the expected sales without noise)."""
    cfg = config or SalesConfig()
    rng = np.random.default_rng(cfg.seed)
    p, w = cfg.products, cfg.weeks
    dates = np.datetime64(cfg.start, "D") + 7 * np.arange(w)
    week = _week_of_year(dates)                                         # (W,)
    names = list(PROFILES)
    profile = rng.integers(len(names), size=p)                          # (P,)
    level = np.exp(rng.normal(np.log(40.0), 0.7, p))
    growth = rng.uniform(-0.15, 0.35, p)
    amplitude = np.where(np.array([PROFILES[names[k]] is None for k in profile]), 0.1,
                         rng.uniform(0.4, 0.9, p))
    peaks = np.array([PROFILES[names[k]] if PROFILES[names[k]] is not None else 26 for k in profile])

    def bump(weeks: np.ndarray) -> np.ndarray:                          # (P, len(weeks))
        return np.exp(3 * np.cos(2 * np.pi * (weeks[None, :] - peaks[:, None]) / 52))

    relative = bump(week) / bump(np.arange(52)).mean(axis=1, keepdims=True)   # mean 1 over a year
    season = np.maximum(1 + amplitude[:, None] * (relative - 1), 0.05)         # (P, W)
    trend = np.maximum(1 + growth[:, None] * np.arange(w)[None, :] / 52, 0.05)
    promo = (rng.random((p, w)) < cfg.promo_rate).astype(int)
    lift = rng.uniform(1.6, 2.2, p)
    mean = level[:, None] * trend * season * np.where(promo == 1, lift[:, None], 1.0)
    values = rng.poisson(mean)
    return {"ids": [f"P{k:04d}" for k in range(p)], "dates": dates, "values": values, "promo": promo,
            "mean": mean, "profile": [names[k] for k in profile], "lift": lift}


def test_path(path: str | Path) -> Path:
    """Where :func:`write_sales` puts the held-out weeks: ``sales.csv`` -> ``sales_test.csv``."""
    path = Path(path)
    return path.with_name(f"{path.stem}_test{path.suffix}")


def write_sales(path: str | Path, config: SalesConfig | None = None, holdout: int = 0) -> dict:
    """Simulate and write the long CSV; with ``holdout`` H > 0 the last H weeks go to a second file
    (``path`` with ``_test`` before the suffix). Returns ``{"series", "weeks", "rows", "files"}``."""
    cfg = config or SalesConfig()
    if not 0 <= holdout < cfg.weeks:
        raise ValueError(f"holdout: expected 0 <= H < weeks ({cfg.weeks}), got {holdout}")
    data = simulate_sales(cfg)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cut = cfg.weeks - holdout
    parts = [(path, slice(0, cut))]
    if holdout:
        parts.append((test_path(path), slice(cut, cfg.weeks)))
    for target, weeks in parts:
        with target.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["series_id", "date", "value", "promo"])
            for i, series_id in enumerate(data["ids"]):
                for t in range(cfg.weeks)[weeks]:
                    writer.writerow([series_id, str(data["dates"][t]), int(data["values"][i, t]),
                                     int(data["promo"][i, t])])
    return {"series": cfg.products, "weeks": cfg.weeks, "rows": cfg.products * cfg.weeks,
            "files": [str(target) for target, _ in parts]}
