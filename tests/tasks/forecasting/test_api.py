"""The head's Python API: four verbs, lazy imports, a save/load round trip, runnable examples."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch

import tasks.forecasting
from tasks.forecasting import evaluate, load, predict, train
from tasks.forecasting.data import SeriesSet, load_series
from tasks.forecasting.synthetic import SalesConfig, write_sales
from tests.tasks.forecasting.series import planted, tiny_settings

VERBS = ("train", "load", "evaluate", "predict")


def test_a_verb_keeps_its_name_when_its_module_is_imported():
    for name in ("train", "evaluate"):
        module = importlib.import_module(f"tasks.forecasting.{name}")        # train.py, evaluate.py
        verb = getattr(tasks.forecasting, name)
        assert callable(verb) and getattr(module, name) is verb
    with pytest.raises(AttributeError, match="no attribute 'fit'"):
        tasks.forecasting.fit  # noqa: B018


def test_save_and_load_give_the_same_forecasts(tmp_path):
    write_sales(tmp_path / "sales.csv", SalesConfig(products=6, weeks=50, seed=3), holdout=4)
    settings = tiny_settings(members=2, quantiles=[0.1, 0.5, 0.9], refit=False)
    run = train(tmp_path / "sales.csv", tmp_path / "model", settings, verbose=False)
    again = load(run.model_dir)
    assert again.settings == run.model.settings and again.settings.format == "long"
    assert [m.config for m in again.members] == [m.config for m in run.model.members]
    for a, b in zip(again.members, run.model.members):
        for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
            assert torch.equal(x, y), name
    test = load_series(tmp_path / "sales_test.csv")
    future = dict(zip(test.ids, test.covariates))
    first = predict(run.model, tmp_path / "sales.csv", future=future)
    second = predict(again, load_series(tmp_path / "sales.csv"), future=future)
    np.testing.assert_array_equal(first.values, second.values)
    assert first.values.shape == (6, 4, 3) and first.ids == test.ids
    scores = evaluate(again, tmp_path / "sales.csv", tmp_path / "sales_test.csv")
    np.testing.assert_allclose(scores["MAE"], np.mean(np.abs(first.point - np.stack(test.values))))


def test_load_names_the_folder_that_is_not_a_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a trained forecasting model"):
        load(tmp_path)
    (tmp_path / "forecast.json").write_text('{"horizon": 4, "n_head": 2}')
    with pytest.raises(ValueError, match=r"forecast.json: unknown config key\(s\) \['n_head'\]"):
        load(tmp_path)


def test_predict_one_series_with_its_holdout(tmp_path):
    data = SeriesSet(ids=["a", "b", "c"], values=planted(3, 40), format="m4")
    run = train(data, tmp_path / "run", tiny_settings(refit=False), verbose=False)
    forecasts = predict(run.model, data, series="b", holdout=True)
    assert forecasts.ids == ["b"] and forecasts.histories[0].size == 36
    np.testing.assert_array_equal(forecasts.actuals[0], data.values[1][-4:])
    assert forecasts.to_dict()["series"] == ["b"] and forecasts.band() is None
    with pytest.raises(ValueError, match="series 'z': not in the data"):
        predict(run.model, data, series="z")
