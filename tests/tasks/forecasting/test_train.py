"""Training the ensemble: it learns a planted season, selects then refits, respects the budget."""

from __future__ import annotations

import json

import pytest

from minitransformer.errors import UsageError
from minitransformer.metrics.forecasting import score_forecasts
from tasks.forecasting import baselines as bl
from tasks.forecasting import load, predict, train
from tasks.forecasting.config import ForecastSettings
from tasks.forecasting.data import SeriesSet, split_last
from tests.tasks.forecasting.series import planted, tiny_settings


def test_model_learns_planted_season_and_trend_far_better_than_naive(tmp_path):
    data = SeriesSet(ids=[f"s{i}" for i in range(24)], values=planted(), format="m4")
    histories, actuals, _ = split_last(data, 8)                 # never seen, not even by the refit
    settings = tiny_settings(horizon=8, context=32, epochs=5, batch_size=64, lr=3e-3, windows_per_series=60,
                             season=8)
    run = train(histories, tmp_path / "run", settings, device="cpu", verbose=False)
    member = run.metrics["members"][0]
    assert member["refit_epochs"] == member["best_epoch"]       # refit for the selected epoch count
    assert (tmp_path / "run" / "member_0" / "selection" / "model.safetensors").is_file()
    ours = score_forecasts(actuals, list(predict(run.model, histories).point), histories.values)
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
    data = SeriesSet(ids=["a", "b", "c"], values=planted(3, 40), format="m4")
    run = train(data, tmp_path / "run", tiny_settings(refit=False), device="cpu", verbose=False)
    assert "refit_epochs" not in run.metrics["members"][0]
    assert not (tmp_path / "run" / "member_0" / "selection").exists()
    assert load(tmp_path / "run").settings.refit is False


def test_a_budget_spent_inside_epoch_one_keeps_the_selection_weights(tmp_path):
    data = SeriesSet(ids=["a", "b", "c"], values=planted(3, 40), format="m4")
    run = train(data, tmp_path / "run", tiny_settings(batch_size=8), max_minutes=1e-6, device="cpu",
                verbose=False)
    member = run.metrics["members"][0]
    assert member["best_epoch"] is None and member["stop_reason"] == "time_budget"
    assert "refit_epochs" not in member
    assert predict(load(tmp_path / "run"), data).values.shape == (3, 4, 1)


def test_the_keywords_replace_the_config_and_the_config_is_not_changed(tmp_path):
    data = SeriesSet(ids=["a", "b", "c"], values=planted(3, 40), format="m4")
    settings = tiny_settings(refit=False)
    run = train(data, tmp_path / "run", settings, horizon=2, max_minutes=5.0, verbose=False)
    saved = json.loads((tmp_path / "run" / "forecast.json").read_text())
    assert (saved["horizon"], saved["max_minutes"], saved["format"]) == (2, 5.0, "m4")
    assert saved["member_dirs"] == ["member_0"] and saved["encoder"]["d_model"] == 16
    assert run.model.horizon == 2 and settings.horizon == 4 and settings.member_dirs == []


def test_a_folder_with_a_trained_model_is_refused(tmp_path):
    data = SeriesSet(ids=["a", "b", "c"], values=planted(3, 40), format="m4")
    train(data, tmp_path / "run", tiny_settings(refit=False), verbose=False)
    with pytest.raises(UsageError, match="already holds files"):
        train(data, tmp_path / "run", tiny_settings(refit=False), verbose=False)
