"""Forecasting head: baselines with known answers, loaders and bad input, the model, the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from minitransformer.cli.main import main
from minitransformer.metrics.forecasting import score_forecasts
from tasks.forecasting import baselines as bl
from tasks.forecasting.data import load_series
from tasks.forecasting.model import ForecastConfig, PatchForecaster, forecast_loss
from tasks.forecasting.pipeline import ForecastSettings, load_ensemble, predict, split_last, train_ensemble
from tasks.forecasting.pretrain import pretrain_masked
from tasks.forecasting.windows import WindowDataset, cut_window

# ------------------------------------------------------------------ baselines


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


# ------------------------------------------------------------------ loaders and bad input


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_load_m4_ragged_rows(tmp_path):
    path = _write(tmp_path, "m4.csv", '"V1","V2","V3","V4"\n"W1",1,2,3\n"W2",5,6,\n')
    data = load_series(path)
    assert data.format == "m4" and data.ids == ["W1", "W2"]
    np.testing.assert_array_equal(data.values[1], [5.0, 6.0])


def test_load_uci_ignores_normalised_columns(tmp_path):
    header = "Product_Code,W0,W1,W2,MIN,MAX,Normalized 0,Normalized 1,Normalized 2\n"
    path = _write(tmp_path, "uci.csv", header + "P1,3,0,5,0,5,0.6,0.0,1.0\n")
    data = load_series(path)
    assert data.format == "uci"
    np.testing.assert_array_equal(data.values[0], [3.0, 0.0, 5.0])


def test_load_long_sorts_dates_and_builds_covariates(tmp_path):
    path = _write(tmp_path, "long.csv", "series_id,date,value,promo\n"
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
    path = _write(tmp_path, "m4.csv", text)
    with pytest.raises(ValueError, match=message):
        load_series(path)


def test_missing_file_and_horizon_longer_than_every_series(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_series(tmp_path / "nope.csv")
    data = load_series(_write(tmp_path, "m4.csv", '"V1","V2","V3"\n"W1",1,2\n"W2",4,\n'))
    with pytest.raises(ValueError, match="longer than every series"):
        split_last(data, 5)


def test_constant_and_length_one_series_are_forecast(tmp_path):
    data = load_series(_write(tmp_path, "m4.csv", '"V1","V2","V3","V4"\n"A",4,4,4\n"B",9,,\n'))
    model = PatchForecaster(ForecastConfig(context=8, horizon=2, patch_len=4, d_model=16, nhead=2))
    out = predict([model], data, 2)[..., 0]
    assert out.shape == (2, 2) and np.isfinite(out).all()
    windows = WindowDataset(data, context=8, horizon=2)
    assert windows.n_skipped == 1 and windows.n_padded == 1  # B: too short; A: padded, kept


# ------------------------------------------------------------------ the model


def test_window_padding_and_mask():
    item = cut_window(np.arange(1.0, 6.0), end=3, context=4, horizon=2)
    np.testing.assert_array_equal(item["values"].numpy(), [0, 1, 2, 3])
    np.testing.assert_array_equal(item["observed"].numpy(), [0, 1, 1, 1])
    np.testing.assert_array_equal(item["target"].numpy(), [4, 5])


def test_forecast_is_scale_equivariant():
    model = PatchForecaster(ForecastConfig(context=16, horizon=4, patch_len=4, d_model=16, nhead=2,
                                           min_scale=0.0)).eval()
    x = torch.rand(3, 16) + 1.0
    ones = torch.ones(3, 16)
    torch.testing.assert_close(model(x * 100.0, ones), model(x, ones) * 100.0, rtol=1e-4, atol=1e-3)


def _planted(n_series=24, length=120, period=8, seed=0):
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


def test_model_learns_planted_season_and_trend_far_better_than_naive(tmp_path):
    from tasks.forecasting.data import SeriesSet

    data = SeriesSet(ids=[f"s{i}" for i in range(24)], values=_planted(), format="m4")
    histories, actuals, _ = split_last(data, 8)                 # never seen, not even by the refit
    settings = ForecastSettings(horizon=8, context=32, patch_len=4, d_model=32, num_layers=1, members=1,
                                epochs=5, batch_size=64, lr=3e-3, windows_per_series=60, season=8)
    summary = train_ensemble(histories, settings, tmp_path / "run", log=lambda *_: None)
    member = summary["members"][0]
    assert member["refit_epochs"] == member["best_epoch"]       # refit for the selected epoch count
    assert (tmp_path / "run" / "member_0" / "selection" / "model.safetensors").is_file()
    _, models = load_ensemble(tmp_path / "run")
    ours = score_forecasts(actuals, list(predict(models, histories, 8)[..., 0]), histories.values)
    naive = score_forecasts(actuals, [bl.naive(x, 8) for x in histories.values], histories.values)
    assert ours["MASE"] < 0.35 * naive["MASE"], (ours["MASE"], naive["MASE"])


def test_context_is_capped_at_half_the_typical_history_for_short_series():
    settings = ForecastSettings(horizon=8, patch_len=8)
    assert [settings.resolved_context(m) for m in range(3)] == [64, 48, 80]          # 8H, 6H, 10H
    assert [settings.resolved_context(m, typical_length=900) for m in range(3)] == [64, 48, 80]
    # 36 weeks of history: base min(64, 18 -> 16), members 16, 12 -> 16, 20 -> 24 (whole patches)
    assert [settings.resolved_context(m, typical_length=36) for m in range(3)] == [16, 16, 24]
    assert ForecastSettings(horizon=2, patch_len=4).resolved_context(0, typical_length=3) == 4


def test_without_refit_the_selection_weights_are_the_member(tmp_path):
    from tasks.forecasting.data import SeriesSet

    data = SeriesSet(ids=["a", "b", "c"], values=_planted(3, 40), format="m4")
    settings = ForecastSettings(horizon=4, context=8, patch_len=4, d_model=16, num_layers=1, members=1,
                                epochs=1, batch_size=32, refit=False)
    summary = train_ensemble(data, settings, tmp_path / "run", device="cpu", log=lambda *_: None)
    assert "refit_epochs" not in summary["members"][0]
    assert not (tmp_path / "run" / "member_0" / "selection").exists()
    assert load_ensemble(tmp_path / "run")[0].refit is False


def test_a_budget_spent_inside_epoch_one_keeps_the_selection_weights(tmp_path):
    from tasks.forecasting.data import SeriesSet

    data = SeriesSet(ids=["a", "b", "c"], values=_planted(3, 40), format="m4")
    settings = ForecastSettings(horizon=4, context=8, patch_len=4, d_model=16, num_layers=1, members=1,
                                epochs=1, batch_size=8, max_minutes=1e-6)
    summary = train_ensemble(data, settings, tmp_path / "run", device="cpu", log=lambda *_: None)
    member = summary["members"][0]
    assert member["best_epoch"] is None and member["stop_reason"] == "time_budget"
    assert "refit_epochs" not in member
    _, models = load_ensemble(tmp_path / "run")
    assert predict(models, data, 4).shape == (3, 4, 1)


def test_quantile_loss_and_pretraining_run():
    from tasks.forecasting.data import SeriesSet

    data = SeriesSet(ids=["a", "b"], values=_planted(2, 60), format="m4")
    model = PatchForecaster(ForecastConfig(context=16, horizon=4, patch_len=4, d_model=16, nhead=2,
                                           quantiles=[0.1, 0.5, 0.9]))
    windows = WindowDataset(data, 16, 4)
    batch = {k: torch.stack([windows[i][k] for i in range(8)]) for k in ("values", "observed", "target")}
    assert forecast_loss(model, batch).item() > 0
    assert model(batch["values"], batch["observed"]).shape == (8, 4, 3)
    history = pretrain_masked(model, windows, epochs=2, batch_size=16, device="cpu", log=lambda *_: None)
    assert len(history) == 2 and all(math.isfinite(r["train_loss"]) for r in history)


# ------------------------------------------------------------------ the CLI end to end


def _tiny_m4(tmp_path):
    rows = ['"V1",' + ",".join(f'"V{i}"' for i in range(2, 62))]
    for i, x in enumerate(_planted(6, 60)):
        rows.append(f'"T{i}",' + ",".join(f"{v:.2f}" for v in x[: 60 - 3 * i]) + "," * (3 * i))
    return _write(tmp_path, "train.csv", "\n".join(rows) + "\n")


def test_cli_train_evaluate_predict(tmp_path, capsys):
    train = _tiny_m4(tmp_path)
    out = tmp_path / "model"
    common = ["--epochs", "2", "--batch-size", "32", "--device", "cpu"]
    assert main(["forecast", "train", "--data", str(train), "--horizon", "4", "--context", "16",
                 "--patch-len", "4", "--d-model", "16", "--layers", "1", "--members", "2",
                 "--quantiles", "0.1,0.5,0.9", "--out", str(out), *common]) == 0
    assert (out / "member_1" / "selection" / "config.json").is_file()   # selection run, then refit
    report = tmp_path / "scores.json"
    assert main(["forecast", "evaluate", "--model", str(out), "--data", str(train),
                 "--json", str(report)]) == 0
    scores = json.loads(report.read_text())
    assert {"MAE", "RMSE", "MASE", "sMAPE", "OWA"} <= set(scores)
    assert set(scores["baselines"]) == set(bl.BASELINE_NAMES)
    assert scores["baselines"]["Naive2"]["OWA"] == pytest.approx(1.0)
    # --test: M4 layout, the same ids, H values each
    test_rows = ['"V1","V2","V3","V4","V5"'] + [f'"T{i}",1,2,3,4' for i in range(6)]
    test = _write(tmp_path, "test.csv", "\n".join(test_rows) + "\n")
    assert main(["forecast", "evaluate", "--model", str(out), "--data", str(train), "--test", str(test)]) == 0
    capsys.readouterr()
    assert main(["forecast", "predict", "--model", str(out), "--data", str(train), "--series", "T1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "series_id,step,forecast,p10,p90" and len(lines) == 5
    pytest.importorskip("matplotlib")
    png = tmp_path / "t1.png"
    assert main(["forecast", "predict", "--model", str(out), "--data", str(train), "--series", "T1",
                 "--holdout", "--plot", str(png)]) == 0
    assert png.stat().st_size > 1000


def test_cli_long_format_with_dates_and_promotions(tmp_path):
    rows = ["series_id,date,value,promo"]
    for s, x in enumerate(_planted(3, 40)):
        for t, v in enumerate(x):
            day = np.datetime64("2023-01-02") + 7 * t
            rows.append(f"s{s},{day},{v:.2f},{int(t % 5 == 0)}")
    data = _write(tmp_path, "long.csv", "\n".join(rows) + "\n")
    out = tmp_path / "model"
    assert main(["forecast", "train", "--data", str(data), "--horizon", "4", "--context", "16",
                 "--patch-len", "4", "--d-model", "16", "--layers", "1", "--members", "1", "--epochs", "1",
                 "--no-refit", "--out", str(out), "--device", "cpu"]) == 0
    settings, models = load_ensemble(out)
    assert models[0].config.n_covariates == 5                 # 4 calendar features + promo
    assert settings.refit is False
    assert main(["forecast", "evaluate", "--model", str(out), "--data", str(data)]) == 0


def test_cli_bad_input_exits_2(tmp_path, capsys):
    bad = _write(tmp_path, "bad.csv", '"V1","V2","V3"\n"W1",1,oops\n')
    run = tmp_path / "m"
    assert main(["forecast", "train", "--data", str(bad), "--horizon", "1", "--out", str(run)]) == 2
    assert "bad.csv:2" in capsys.readouterr().err
    short = _write(tmp_path, "short.csv", '"V1","V2","V3"\n"W1",1,2\n')
    assert main(["forecast", "train", "--data", str(short), "--horizon", "9", "--out", str(run)]) == 2
    assert "longer than every series" in capsys.readouterr().err
    assert main(["forecast", "evaluate", "--model", str(tmp_path / "none"), "--data", str(short)]) == 2
