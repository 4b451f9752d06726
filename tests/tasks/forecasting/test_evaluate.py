"""Scoring beside the baselines: hold-out and test-file modes, OWA relative to Naive2."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.forecasting import evaluate, train
from tasks.forecasting.baselines import BASELINE_NAMES, naive
from tasks.forecasting.data import SeriesSet, split_last
from tasks.forecasting.evaluate import match_test, score_with_baselines
from tests.tasks.forecasting.series import planted, tiny_settings


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    data = SeriesSet(ids=[f"s{i}" for i in range(4)], values=planted(4, 40), format="m4")
    folder = tmp_path_factory.mktemp("evaluate")
    return train(data, folder / "run", tiny_settings(refit=False), verbose=False), data


def test_naive2_scores_one_and_a_perfect_forecast_scores_zero():
    data = SeriesSet(ids=["a", "b"], values=planted(2, 30), format="m4")
    histories, actuals, _ = split_last(data, 4)
    perfect = np.stack(actuals)                                          # (S, H)
    scores = score_with_baselines(histories, actuals, perfect, tiny_settings())
    assert set(scores["baselines"]) == set(BASELINE_NAMES)
    assert scores["baselines"]["Naive2"]["OWA"] == pytest.approx(1.0)
    assert scores["MAE"] == 0 and scores["OWA"] == 0


def test_held_out_and_test_file_modes_agree_on_the_same_values(trained):
    run, data = trained
    held_out = evaluate(run.model, data)
    histories, actuals, _ = split_last(data, 4)
    test = SeriesSet(ids=histories.ids, values=actuals, format="m4")
    against_test = evaluate(run.model, histories, test)
    assert held_out["mode"] == "last 4 values of each series held out"
    assert against_test["mode"] == "scored against test"
    for key in ("MAE", "MASE", "sMAPE", "OWA"):
        assert held_out[key] == pytest.approx(against_test[key])
    naive_mae = np.mean(np.abs(np.stack(actuals) - np.stack([naive(x, 4) for x in histories.values])))
    assert held_out["baselines"]["Naive"]["MAE"] == pytest.approx(naive_mae)


def test_frequency_and_season_change_the_scores_not_the_model(trained):
    run, data = trained
    seasonal = evaluate(run.model, data, season=4, frequency=4)
    plain = evaluate(run.model, data)
    assert seasonal["baselines"]["SeasonalNaive"]["MAE"] != plain["baselines"]["SeasonalNaive"]["MAE"]
    assert (run.model.settings.season, run.model.settings.frequency) == (52, 1)


def test_a_test_file_must_match_the_training_ids_and_horizon():
    data = SeriesSet(ids=["a", "b"], values=planted(2, 20), format="m4")
    with pytest.raises(ValueError, match="test.csv: series 'c' is not in the training data"):
        match_test(data, SeriesSet(ids=["c"], values=[np.ones(4)], format="m4"), 4, "test.csv")
    with pytest.raises(ValueError, match="series 'a' has 3 values, expected 4"):
        match_test(data, SeriesSet(ids=["a"], values=[np.ones(3)], format="m4"), 4)
    histories, actuals, skipped = match_test(data, SeriesSet(ids=["b"], values=[np.ones(4)], format="m4"), 4)
    assert histories.ids == ["b"] and skipped == 1 and data.ids == ["a", "b"]
