"""The trained ensemble: read it back (:func:`load`) and forecast with it (:func:`predict`).

A trained model folder holds ``forecast.json`` (the :class:`~tasks.forecasting.config.ForecastSettings`,
with the members' folder names) and one folder per member (``member_0/``, ...), each with the
``config.json`` + ``model.safetensors`` of a :class:`~tasks.forecasting.model.PatchForecaster`
(loading never unpickles). The forecast of the ensemble is the **median over the members**,
step by step and quantile by quantile (N-BEATS, Oreshkin et al. 2020, ensembles models that
differ in seed and context length; the median is robust to one bad member)::

    forecast[s, t, q] = max(0, median_k member_k(series s)[t, q])      (S, H, Q)

clipped at 0 because sales are never negative.

A model folder is data, not trust (it may come from anyone): :func:`load` follows only member
names that stay inside the folder (:func:`~minitransformer.files.model_folder.member_path`),
checks every ``config.json`` (types, ranges, the members agreeing with each other) and the
memory the weights would take before building a member, and refuses anything else in one line
naming the file.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from minitransformer.errors import CheckpointError
from minitransformer.files.model_folder import check_fits_in_memory, member_path
from minitransformer.nn.io import CONFIG_NAME, WEIGHTS_NAME, load_weights
from minitransformer.training.devices import resolve_device
from tasks.forecasting.config import SETTINGS_NAME, ForecastConfig, ForecastSettings
from tasks.forecasting.data import SeriesSet, split_last, to_series_set
from tasks.forecasting.inputs import extra_covariates, held_out_future, known_future, model_inputs
from tasks.forecasting.model import PatchForecaster
from tasks.forecasting.timestamps import format_timestamp, future_dates
from tasks.forecasting.windows import forecast_batch

__all__ = ["ForecastEnsemble", "Forecasts", "forecast_members", "load", "predict"]


@torch.no_grad()
def forecast_members(members: list[PatchForecaster], data: SeriesSet, horizon: int,
                     future: dict[str, np.ndarray] | None = None, chunk: int = 1024) -> np.ndarray:
    """Forecasts ``(S, H, Q)`` for every series of ``data``: the median over ``members``, >= 0.

    ``future`` maps a series id to its known future covariates ``(H, K_extra)`` (e.g. planned
    promotions); a series without an entry gets zeros there ("no promotion planned").
    ``chunk`` series go through a member at once.
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

    @property
    def n_covariates(self) -> int:
        """``K``: the covariates a member reads at each step (calendar features included)."""
        return self.members[0].config.n_covariates

    def forecast(self, data: SeriesSet, future: dict[str, np.ndarray] | None = None,
                 chunk: int = 1024) -> np.ndarray:
        """The next ``H`` values after the end of every series of ``data``: ``(S, H, Q)``."""
        return forecast_members(self.members, data, self.horizon, future, chunk)

    def inputs(self, data: SeriesSet, source: str, need_dates: bool = True) -> SeriesSet:
        """``data`` as the members read it, its columns checked
        (:func:`~tasks.forecasting.inputs.model_inputs`)."""
        return model_inputs(self.settings, self.n_covariates, data, source, need_dates)


def load(model_dir: str | Path, device: str = "cpu") -> ForecastEnsemble:
    """Read ``forecast.json`` and every member's weights from a trained model folder, onto
    ``device`` (``"cpu"``, ``"cuda"``, ``"auto"``, ...).

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
    model_dir, target = Path(model_dir), resolve_device(device)
    path = model_dir / SETTINGS_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not a trained forecasting model (no {SETTINGS_NAME}); "
                                "train one with 'minitransformer forecast train'")
    settings = _read_config(ForecastSettings, path)
    if not settings.member_dirs:
        raise CheckpointError(f"{path}: lists no trained member")
    folders = [member_path(model_dir, name, path) for name in settings.member_dirs]
    configs = [_read_config(ForecastConfig, folder / CONFIG_NAME) for folder in folders]
    for folder, config in zip(folders, configs):
        _check_member(config, configs[0], settings, folder / CONFIG_NAME)
    for folder, config in zip(folders, configs):
        check_fits_in_memory(config.approximate_parameters(), folder / CONFIG_NAME)
    check_fits_in_memory(sum(c.approximate_parameters() for c in configs), path)
    members = []
    for folder, config in zip(folders, configs):
        model = PatchForecaster(config)
        load_weights(model, folder / WEIGHTS_NAME)
        if not all(torch.isfinite(p).all() for p in model.parameters()):
            raise CheckpointError(f"{folder / WEIGHTS_NAME}: holds NaN or infinite weights")
        members.append(model.to(target))
    return ForecastEnsemble(settings, members)


def _read_config(kind, path: Path):
    """``kind.from_json_file(path)``; a value of the wrong type is refused naming the file."""
    if not path.is_file():
        raise CheckpointError(f"{path}: missing from the model folder")
    try:
        return kind.from_json_file(path)
    except TypeError as err:                       # e.g. a string where a number belongs
        raise CheckpointError(f"{path}: a value has the wrong type ({err})") from None
    except RecursionError:                         # [[[[...]]]]: deeper than Python's stack
        raise CheckpointError(f"{path}: nested too deeply to be a configuration") from None
    except ValueError as err:
        message = str(err)
        raise CheckpointError(message if str(path) in message else f"{path}: {message}") from None


def _check_member(config: ForecastConfig, first: ForecastConfig, settings: ForecastSettings,
                  path: Path) -> None:
    """A member forecasts the ensemble's horizon, with the first member's outputs and inputs
    (as many covariates as ``forecast.json``'s columns give, when it records them)."""
    names = settings.covariate_names
    inputs = first.n_covariates if names is None else 4 * ("date" in settings.columns) + len(names)
    for name, want in (("horizon", settings.horizon), ("quantiles", first.quantiles),
                       ("n_covariates", inputs)):
        if getattr(config, name) != want:
            raise CheckpointError(f"{path}: {name} is {getattr(config, name)!r}, but the ensemble's "
                                  f"is {want!r}")


@dataclass
class Forecasts:
    """What :func:`predict` returns (and ``minitransformer forecast predict`` prints).

    ``values[s, t, q]`` ``(S, H, Q)`` is quantile ``quantiles[q]`` of step ``t + 1`` of series
    ``ids[s]`` (``quantiles`` empty: ``Q = 1``, a point forecast); ``histories[s]`` is what the
    forecast was made from, and ``actuals[s]`` the values it forecasts when they are known
    (``holdout=True``), else ``None``. ``dates[s]`` ``(H,)`` are the dates of the forecast
    steps when the data has dates (the series' next dates at its step, or the held-out ones),
    else ``None``: the steps are then numbered 1..H.
    """

    ids: list[str]
    quantiles: list[float]
    values: np.ndarray
    histories: list[np.ndarray]
    actuals: list[np.ndarray] | None = None
    dates: list[np.ndarray] | None = None

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
        """The JSON of ``forecast predict --json``: ``series``, ``quantiles``, ``forecasts (S, H, Q)``
        and, when the data has dates, ``dates (S, H)``."""
        out = {"series": self.ids, "quantiles": self.quantiles, "forecasts": self.values.tolist()}
        if self.dates is not None:
            out["dates"] = [[format_timestamp(d) for d in row] for row in self.dates]
        return out


def predict(model: ForecastEnsemble, data: SeriesSet | str | Path, series: str | None = None, *,
            future: dict[str, np.ndarray] | str | Path | None = None, holdout: bool = False,
            format: str = "auto", batch_size: int = 1024) -> Forecasts:
    """Forecast the ``H`` steps after the end of every series of ``data`` (or only ``series``).

    ``data`` must have the columns the model was trained with (other columns are ignored).
    ``future``: the known future covariates of the ``H`` steps (planned promotions, ...) of
    every series forecast, as a CSV file or a dict ``{series id: (H, K) array}``
    (:func:`~tasks.forecasting.inputs.known_future`); for a model trained with covariates and
    no ``future``, they are taken as 0 and a ``UserWarning`` says so. ``holdout=True`` forecasts
    each series' last ``H`` values from the rest instead (their covariates are in ``data``),
    and keeps them as ``actuals`` (to compare, or to draw). ``batch_size`` series are forecast
    at once.

    Examples:
        >>> import tempfile
        >>> from tasks.forecasting import ForecastSettings, forecast_encoder, load_series, predict, train
        >>> from tasks.forecasting.synthetic import SalesConfig, write_sales
        >>> folder = tempfile.mkdtemp()
        >>> _ = write_sales(f"{folder}/sales.csv", SalesConfig(products=8, weeks=60), holdout=4)
        >>> tiny = ForecastSettings(horizon=4, context=16, patch_len=4, members=1, epochs=1, refit=False,
        ...                         quantiles=[0.1, 0.5, 0.9],
        ...                         encoder=forecast_encoder(d_model=16, num_layers=1))
        >>> run = train(f"{folder}/sales.csv", f"{folder}/model", tiny, verbose=False)
        >>> planned = load_series(f"{folder}/sales_test.csv")             # the next 4 weeks' promotions
        >>> future = dict(zip(planned.ids, planned.covariates))           # series id -> (H, 1)
        >>> forecasts = predict(run.model, f"{folder}/sales.csv", series="P0003", future=future)
        >>> forecasts.ids, forecasts.values.shape, forecasts.point.shape   # (S, H, Q), (S, H)
        (['P0003'], (1, 4, 3), (1, 4))
        >>> [str(d) for d in forecasts.dates[0]] == [str(d) for d in planned.dates[3]]   # weekly, as the data
        True
    """
    source, h = _name(data), model.horizon
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive integer, got {batch_size!r}")
    data = to_series_set(data, format)
    view = model.inputs(data, source)                                   # what the members read
    all_ids = list(data.ids)
    if series is not None:
        if series not in data.ids:
            raise ValueError(f"series {series!r}: not in {source} (ids like {data.ids[:3]})")
        data, view = data.subset([data.ids.index(series)]), view.subset([data.ids.index(series)])
    k = extra_covariates(model.settings, model.n_covariates, view)
    actuals = None
    if holdout:
        if future is not None:
            raise ValueError("future: not used with holdout=True (the held-out steps' covariates are in "
                             "the data)")
        full = view
        view, actuals, kept = split_last(full, h)
        known = held_out_future(full.subset(kept), h)                  # their covariates are known
        data = data.subset(kept)
        dates = None if data.dates is None else [d[-h:] for d in data.dates]
    else:
        known = None
        if future is not None:
            known = known_future(future, model.settings.covariate_names, k, data, all_ids, h)
        elif k:
            names = ", ".join(model.settings.covariate_names or [f"{k} covariate(s)"])
            warnings.warn(f"the model was trained with {names}; without future covariates (--future FILE) "
                          f"it forecasts as if they were 0 over the {h} steps (e.g. no promotion planned)",
                          UserWarning, stacklevel=2)
        dates = None if data.dates is None else [future_dates(d, h) for d in data.dates]
    values = model.forecast(view, known, batch_size)                   # (S, H, Q)
    return Forecasts(ids=list(view.ids), quantiles=model.quantiles, values=values,
                     histories=list(view.values), actuals=actuals, dates=dates)


def _name(data) -> str:
    return str(data) if isinstance(data, (str, Path)) else "the data"
