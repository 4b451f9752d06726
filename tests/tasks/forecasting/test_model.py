"""The patch forecaster: its config (nested encoder, JSON round trip), windows, scale, losses."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from minitransformer.nn.config import EncoderConfig
from tasks.forecasting.config import ForecastConfig, ForecastSettings, forecast_encoder
from tasks.forecasting.data import SeriesSet, load_series
from tasks.forecasting.ensemble import forecast_members
from tasks.forecasting.model import PatchForecaster, forecast_loss
from tasks.forecasting.pretrain import pretrain_masked
from tasks.forecasting.windows import WindowDataset, cut_window
from tests.tasks.forecasting.series import planted, write


def _small(**changes) -> ForecastConfig:
    return ForecastConfig(**{"context": 16, "horizon": 4, "patch_len": 4,
                             "encoder": EncoderConfig(d_model=16, nhead=2, num_layers=2, dim_feedforward=32,
                                                      activation="gelu", norm_first=True), **changes})


def test_the_config_nests_the_encoders_and_survives_json(tmp_path):
    config = _small(quantiles=[0.1, 0.5, 0.9], n_covariates=5)
    assert "d_model" not in config.to_dict() and config.to_dict()["encoder"]["d_model"] == 16
    config.to_json_file(tmp_path / "config.json")
    again = ForecastConfig.from_json_file(tmp_path / "config.json")
    assert again == config and isinstance(again.encoder, EncoderConfig)
    model = PatchForecaster(config)
    assert model.encoder.config == config.encoder and len(model.encoder.layers) == 2


def test_the_settings_survive_json_and_name_a_bad_value(tmp_path):
    settings = ForecastSettings(horizon=8, quantiles=[0.1, 0.5, 0.9], encoder=forecast_encoder(d_model=32))
    settings.to_json_file(tmp_path / "forecast.json")
    assert ForecastSettings.from_json_file(tmp_path / "forecast.json") == settings
    for bad, message in (({"horizon": 0}, "horizon: expected a positive integer"),
                         ({"quantiles": [0.1, 0.9]}, "quantiles: expected increasing values in"),
                         ({"quantiles": [0.9, 0.5, 0.1]}, "quantiles: expected increasing values in"),
                         ({"quantiles": "0.5"}, "quantiles: expected a list of numbers"),
                         ({"encoder": {"d_model": 8}}, "encoder: expected an EncoderConfig"),
                         ({"max_minutes": 0}, "max_minutes: expected a finite positive number"),
                         ({"lr": float("inf")}, "lr: expected a finite positive number"),
                         ({"refit": "yes"}, "refit: expected true or false"),
                         ({"members": 101}, "members: expected at most 100"),
                         ({"batch_size": 10**30}, "batch_size: expected at most 1000000 windows"),
                         ({"format": "xls"}, "format: expected")):
        with pytest.raises(ValueError, match=message):
            ForecastSettings(**bad)
    with pytest.raises(ValueError, match="context: 10 must be a multiple of patch_len=4"):
        _small(context=10)


def test_a_member_config_takes_the_settings_shape():
    settings = ForecastSettings(horizon=6, patch_len=4, quantiles=[0.1, 0.5, 0.9],
                                encoder=forecast_encoder(d_model=24, num_layers=1))
    config = settings.member_config(context=20, n_covariates=5)
    assert (config.context, config.horizon, config.patch_len, config.n_covariates) == (20, 6, 4, 5)
    assert config.encoder == settings.encoder and config.encoder is not settings.encoder
    assert config.quantiles == [0.1, 0.5, 0.9]


def test_window_padding_and_mask():
    item = cut_window(np.arange(1.0, 6.0), end=3, context=4, horizon=2)
    np.testing.assert_array_equal(item["values"].numpy(), [0, 1, 2, 3])
    np.testing.assert_array_equal(item["observed"].numpy(), [0, 1, 1, 1])
    np.testing.assert_array_equal(item["target"].numpy(), [4, 5])


def test_constant_and_length_one_series_are_forecast(tmp_path):
    data = load_series(write(tmp_path, "m4.csv", '"V1","V2","V3","V4"\n"A",4,4,4\n"B",9,,\n'))
    model = PatchForecaster(_small(context=8, horizon=2))
    out = forecast_members([model], data, 2)[..., 0]
    assert out.shape == (2, 2) and np.isfinite(out).all() and (out >= 0).all()
    windows = WindowDataset(data, context=8, horizon=2)
    assert windows.n_skipped == 1 and windows.n_padded == 1  # B: too short; A: padded, kept


def test_forecast_is_scale_equivariant():
    model = PatchForecaster(_small(min_scale=0.0)).eval()
    x = torch.rand(3, 16) + 1.0
    ones = torch.ones(3, 16)
    torch.testing.assert_close(model(x * 100.0, ones), model(x, ones) * 100.0, rtol=1e-4, atol=1e-3)


def test_quantile_loss_and_pretraining_run():
    data = SeriesSet(ids=["a", "b"], values=planted(2, 60), format="m4")
    model = PatchForecaster(_small(quantiles=[0.1, 0.5, 0.9]))
    windows = WindowDataset(data, 16, 4)
    batch = {k: torch.stack([windows[i][k] for i in range(8)]) for k in ("values", "observed", "target")}
    assert forecast_loss(model, batch).item() > 0
    assert model(batch["values"], batch["observed"]).shape == (8, 4, 3)
    history = pretrain_masked(model, windows, epochs=2, batch_size=16, device="cpu", log=lambda *_: None)
    assert len(history) == 2 and all(math.isfinite(r["train_loss"]) for r in history)
