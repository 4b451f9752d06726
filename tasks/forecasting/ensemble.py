"""The trained ensemble: read it back (:func:`load`) and forecast with it (:func:`predict`).

A trained model folder holds ``forecast.json`` (the :class:`~tasks.forecasting.config.ForecastSettings`,
with the members' folder names) and one folder per member (``member_0/``, ...), each with the
``config.json`` + ``model.safetensors`` of a :class:`~tasks.forecasting.model.PatchForecaster`
(loading never unpickles). The forecast of the ensemble is the **median over the members**,
step by step and quantile by quantile (N-BEATS, Oreshkin et al. 2020, ensembles models that
differ in seed and context length; the median is robust to one bad member)::

    forecast[s, t, q] = max(0, median_k member_k(series s)[t, q])      (S, H, Q)

clipped at 0 because sales are never negative.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tasks.forecasting.config import SETTINGS_NAME, ForecastSettings
from tasks.forecasting.data import SeriesSet, split_last, to_series_set
from tasks.forecasting.model import PatchForecaster
from tasks.forecasting.windows import forecast_batch

__all__ = ["ForecastEnsemble", "Forecasts", "forecast_members", "load", "predict"]


@torch.no_grad()
def forecast_members(members: list[PatchForecaster], data: SeriesSet, horizon: int,
                     future: dict[str, np.ndarray] | None = None, chunk: int = 1024) -> np.ndarray:
    """Forecasts ``(S, H, Q)`` for every series of ``data``: the median over ``members``, >= 0.

    ``future`` maps a series id to its known future covariates ``(H, K_extra)`` (e.g. planned
    promotions); a series without an entry gets zeros there ("no promotion planned").
    """
    outputs = []
    for model in members:
        model.eval()
        device = next(model.parameters()).device
        batch = forecast_batch(data, model.config.context, horizon, future)
        pieces = []
        for start in range(0, len(data), chunk):
            part = {k: v[start:start + chunk].to(device) for k, v in batch.items()}
            pieces.append(model(part["values"], part["observed"], part.get("covariates")).cpu())
        outputs.append(torch.cat(pieces).double().numpy())          # (S, H, Q)
    forecast = np.median(np.stack(outputs), axis=0)
    return np.maximum(forecast, 0.0)                                # sales are never negative


@dataclass
class ForecastEnsemble:
    """What :func:`load` returns: the ``settings`` and the trained ``members``."""

    settings: ForecastSettings
    members: list[PatchForecaster]

    @property
    def horizon(self) -> int:
        return self.settings.horizon

    @property
    def quantiles(self) -> list[float]:
        """The quantile outputs, e.g. ``[0.1, 0.5, 0.9]``; ``[]`` for a point forecast."""
        return list(self.members[0].config.quantiles)

    @property
    def median_index(self) -> int:
        """Which of the ``Q`` outputs is the point forecast (the P50)."""
        return self.members[0].median_index

    def forecast(self, data: SeriesSet, future: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """The next ``H`` values after the end of every series of ``data``: ``(S, H, Q)``."""
        return forecast_members(self.members, data, self.horizon, future)


def load(model_dir: str | Path, device: str = "cpu") -> ForecastEnsemble:
    """Read ``forecast.json`` and every member's weights from a trained model folder.

    Examples:
        >>> import tempfile
        >>> from tasks.forecasting import ForecastSettings, forecast_encoder, load, train
        >>> from tasks.forecasting.synthetic import SalesConfig, write_sales
        >>> folder = tempfile.mkdtemp()
        >>> _ = write_sales(f"{folder}/sales.csv", SalesConfig(products=8, weeks=60))
        >>> tiny = ForecastSettings(horizon=4, context=16, patch_len=4, members=2, epochs=1, refit=False,
        ...                         encoder=forecast_encoder(d_model=16, num_layers=1))
        >>> _ = train(f"{folder}/sales.csv", f"{folder}/model", tiny, verbose=False)
        >>> model = load(f"{folder}/model")
        >>> model.settings.member_dirs, [m.config.context for m in model.members]
        (['member_0', 'member_1'], [16, 12])
    """
    model_dir = Path(model_dir)
    path = model_dir / SETTINGS_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not a trained forecasting model (no {SETTINGS_NAME}); "
                                "train one with 'minitransformer forecast train'")
    settings = ForecastSettings.from_json_file(path)
    if not settings.member_dirs:
        raise ValueError(f"{path}: lists no trained member")
    members = [PatchForecaster.from_pretrained(model_dir / name, map_location=device)
               for name in settings.member_dirs]
    return ForecastEnsemble(settings, members)


@dataclass
class Forecasts:
    """What :func:`predict` returns (and ``minitransformer forecast predict`` prints).

    ``values[s, t, q]`` ``(S, H, Q)`` is quantile ``quantiles[q]`` of step ``t + 1`` of series
    ``ids[s]`` (``quantiles`` empty: ``Q = 1``, a point forecast); ``histories[s]`` is what the
    forecast was made from, and ``actuals[s]`` the values it forecasts when they are known
    (``holdout=True``), else ``None``.
    """

    ids: list[str]
    quantiles: list[float]
    values: np.ndarray
    histories: list[np.ndarray]
    actuals: list[np.ndarray] | None = None

    @property
    def median_index(self) -> int:
        return self.quantiles.index(0.5) if self.quantiles else 0

    @property
    def point(self) -> np.ndarray:
        """The point forecast (the P50) ``(S, H)``."""
        return self.values[..., self.median_index]

    def band(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The lowest and highest quantile ``(S, H)`` each (e.g. P10 and P90), or ``None``."""
        return (self.values[..., 0], self.values[..., -1]) if self.quantiles else None

    def to_dict(self) -> dict:
        """The JSON of ``forecast predict --json``: ``series``, ``quantiles``, ``forecasts (S, H, Q)``."""
        return {"series": self.ids, "quantiles": self.quantiles, "forecasts": self.values.tolist()}


def predict(model: ForecastEnsemble, data: SeriesSet | str | Path, series: str | None = None, *,
            future: dict[str, np.ndarray] | None = None, holdout: bool = False,
            format: str = "auto") -> Forecasts:
    """Forecast the ``H`` steps after the end of every series of ``data`` (or only ``series``).

    ``future``: known future covariates by series id (see :func:`forecast_members`).
    ``holdout=True`` forecasts each series' last ``H`` values from the rest instead, and keeps
    them as ``actuals`` (to compare, or to draw).

    Examples:
        >>> import tempfile
        >>> from tasks.forecasting import ForecastSettings, forecast_encoder, predict, train
        >>> from tasks.forecasting.synthetic import SalesConfig, write_sales
        >>> folder = tempfile.mkdtemp()
        >>> _ = write_sales(f"{folder}/sales.csv", SalesConfig(products=8, weeks=60))
        >>> tiny = ForecastSettings(horizon=4, context=16, patch_len=4, members=1, epochs=1, refit=False,
        ...                         quantiles=[0.1, 0.5, 0.9],
        ...                         encoder=forecast_encoder(d_model=16, num_layers=1))
        >>> run = train(f"{folder}/sales.csv", f"{folder}/model", tiny, verbose=False)
        >>> forecasts = predict(run.model, f"{folder}/sales.csv", series="P0003")
        >>> forecasts.ids, forecasts.values.shape, forecasts.point.shape   # (S, H, Q), (S, H)
        (['P0003'], (1, 4, 3), (1, 4))
    """
    source = data
    data = to_series_set(data, format)
    if series is not None:
        if series not in data.ids:
            raise ValueError(f"series {series!r}: not in {_name(source)} (ids like {data.ids[:3]})")
        data = data.subset([data.ids.index(series)])
    actuals = None
    if holdout:
        data, actuals, _ = split_last(data, model.horizon)
    values = model.forecast(data, future)                              # (S, H, Q)
    return Forecasts(ids=list(data.ids), quantiles=model.quantiles, values=values,
                     histories=list(data.values), actuals=actuals)


def _name(data) -> str:
    return str(data) if isinstance(data, (str, Path)) else "the data"
