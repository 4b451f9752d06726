"""The weekly-sales simulator of the forecasting head: seeded, its planted signals there, learnable."""

from __future__ import annotations

import numpy as np
import pytest

from minitransformer.cli.main import main
from minitransformer.metrics.forecasting import score_forecasts
from tasks.forecasting import baselines as bl
from tasks.forecasting import predict, train
from tasks.forecasting.config import ForecastSettings, forecast_encoder
from tasks.forecasting.data import load_series
from tasks.forecasting.synthetic import PROFILES, SalesConfig, simulate_sales, write_sales


def test_same_seed_same_sales_other_seed_other_sales():
    a, b = simulate_sales(SalesConfig(products=5, seed=3)), simulate_sales(SalesConfig(products=5, seed=3))
    np.testing.assert_array_equal(a["values"], b["values"])
    assert not np.array_equal(a["values"], simulate_sales(SalesConfig(products=5, seed=4))["values"])


def test_sales_are_weekly_counts():
    data = simulate_sales(SalesConfig(products=20, weeks=60))
    assert data["values"].shape == data["promo"].shape == (20, 60)
    assert data["values"].dtype.kind == "i" and data["values"].min() >= 0
    assert np.all(np.diff(data["dates"]).astype(int) == 7)
    assert str(data["dates"][0]) == "2022-01-03"


def test_promotions_lift_sales_by_the_planted_factor():
    data = simulate_sales(SalesConfig(products=300, seed=1))
    promo = data["promo"] == 1
    assert 0.06 < promo.mean() < 0.10                                   # promo_rate 8 %
    # sales over their no-promotion mean: the product's lift in promoted weeks, 1 otherwise
    base = data["mean"] / np.where(promo, data["lift"][:, None], 1.0)
    ratio = data["values"][promo].sum() / base[promo].sum()
    assert 1.75 < ratio < 2.05                                          # lift ~ U(1.6, 2.2)
    assert 0.97 < data["values"][~promo].sum() / base[~promo].sum() < 1.03


def test_winter_products_peak_at_christmas_summer_products_in_july():
    data = simulate_sales(SalesConfig(products=200, seed=2, promo_rate=0.0))
    weeks = (data["dates"] - data["dates"].astype("datetime64[Y]")).astype(int) // 7   # week of year
    profile = np.array(data["profile"])
    for name, peak in PROFILES.items():
        if peak is None:
            continue
        mean = data["mean"][profile == name]
        at_peak = mean[:, np.abs(weeks - peak) <= 1].mean()
        half_year_away = mean[:, np.abs(weeks - (peak + 26) % 52) <= 1].mean()
        assert at_peak > 2.5 * half_year_away, name
    assert set(profile) == set(PROFILES)


def test_written_files_are_read_by_the_loader(tmp_path):
    summary = write_sales(tmp_path / "sales.csv", SalesConfig(products=4, weeks=30), holdout=6)
    train, test = load_series(tmp_path / "sales.csv"), load_series(tmp_path / "sales_test.csv")
    assert summary["files"] == [str(tmp_path / "sales.csv"), str(tmp_path / "sales_test.csv")]
    assert train.format == test.format == "long" and train.covariate_names == ["promo"]
    assert train.ids == test.ids and all(x.size == 24 for x in train.values)
    assert all(x.size == 6 for x in test.values)
    full = simulate_sales(SalesConfig(products=4, weeks=30))
    np.testing.assert_array_equal(np.concatenate([train.values[0], test.values[0]]), full["values"][0])
    np.testing.assert_array_equal(test.covariates[2][:, 0], full["promo"][2, 24:])
    with pytest.raises(ValueError, match="holdout"):
        write_sales(tmp_path / "x.csv", SalesConfig(weeks=10), holdout=10)


def test_simulate_command(tmp_path, capsys):
    out = tmp_path / "w.csv"
    assert main(["forecast", "simulate", "--out", str(out), "--products", "3", "--weeks", "20",
                 "--holdout", "4", "--seed", "2"]) == 0
    assert "3 products x 20 weeks" in capsys.readouterr().out
    assert len(load_series(tmp_path / "w_test.csv")) == 3
    assert main(["forecast", "simulate", "--out", str(out), "--weeks", "5", "--holdout", "5"]) == 2
    assert "holdout" in capsys.readouterr().err


def test_model_with_the_known_promotions_beats_every_baseline_within_seconds(tmp_path):
    """The baselines copy last year's promotions or smooth them away; the model reads the planted
    calendar season and the promo column of the forecast weeks."""
    h = 8
    write_sales(tmp_path / "sales.csv", SalesConfig(products=40, weeks=120, seed=5), holdout=h)
    history, test = load_series(tmp_path / "sales.csv"), load_series(tmp_path / "sales_test.csv")
    settings = ForecastSettings(horizon=h, patch_len=8, encoder=forecast_encoder(d_model=32, num_layers=1),
                                members=1, epochs=4, batch_size=64, lr=3e-3, windows_per_series=40,
                                refit=False)
    run = train(history, tmp_path / "run", settings, device="cpu", verbose=False)
    future = dict(zip(test.ids, test.covariates))
    p50 = predict(run.model, history, future=future).point                       # (S, H)
    ours = score_forecasts(test.values, list(p50), history.values)
    for name, forecasts, margin in (
            ("seasonal naive", [bl.seasonal_naive(x, h, 52) for x in history.values], 0.95),
            ("theta", [bl.theta(x, h) for x in history.values], 0.8),
            ("naive", [bl.naive(x, h) for x in history.values], 0.8)):
        theirs = score_forecasts(test.values, forecasts, history.values)
        assert ours["MASE"] < margin * theirs["MASE"], (name, ours["MASE"], theirs["MASE"])
