"""Small series with a planted structure, and tiny settings, shared by the forecasting tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tasks.forecasting.config import ForecastSettings, forecast_encoder


def planted(n_series: int = 24, length: int = 120, period: int = 8, seed: int = 0) -> list[np.ndarray]:
    """Seasonal (period 8) + trend series at different levels, with a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    out = []
    for _ in range(n_series):
        level, slope, amp = rng.uniform(50, 200), rng.uniform(-0.3, 0.6), rng.uniform(5, 20)
        phase = rng.integers(period)
        season = amp * np.sin(2 * np.pi * (t + phase) / period)
        out.append(level + slope * t + season + rng.normal(0, 0.5, length))
    return out


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def tiny_m4(folder: Path) -> Path:
    """Six planted series in M4's wide layout, 60 values down to 45 (ragged rows)."""
    rows = ['"V1",' + ",".join(f'"V{i}"' for i in range(2, 62))]
    for i, x in enumerate(planted(6, 60)):
        rows.append(f'"T{i}",' + ",".join(f"{v:.2f}" for v in x[: 60 - 3 * i]) + "," * (3 * i))
    return write(folder, "train.csv", "\n".join(rows) + "\n")


def tiny_settings(**changes) -> ForecastSettings:
    """A forecaster small enough to train in a second: H = 4, C = 8, D = 16, one layer, one epoch."""
    base = dict(horizon=4, context=8, patch_len=4, encoder=forecast_encoder(d_model=16, num_layers=1),
                members=1, epochs=1, batch_size=32)
    return ForecastSettings(**{**base, **changes})


def tiny_long(folder: Path, name: str = "sales.csv", n_series: int = 4, weeks: int = 30,
              start: str = "2024-01-01", step_days: int = 7, promo: bool = True) -> Path:
    """A long file ``series_id,date,value[,promo]``: planted series, a promotion every 5th step."""
    rows = ["series_id,date,value" + (",promo" if promo else "")]
    for s, x in enumerate(planted(n_series, weeks)):
        for t, v in enumerate(x):
            day = np.datetime64(start) + step_days * t
            rows.append(f"s{s},{day},{v:.2f}" + (f",{int(t % 5 == 0)}" if promo else ""))
    return write(folder, name, "\n".join(rows) + "\n")


def folder_digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative name -> SHA-256 of its bytes): equal digests mean the
    folder is byte-identical."""
    import hashlib

    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}
