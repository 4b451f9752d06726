"""Sales forecasting head: a global patch Transformer beside hand-written statistical baselines.

The Python API, four verbs (``minitransformer forecast train|evaluate|predict`` call the same)::

    from tasks.forecasting import ForecastSettings, evaluate, load, predict, train

    run = train("sales.csv", "runs/sales", ForecastSettings(members=1), horizon=13)   # -> Run
    model = load("runs/sales")                                   # the ensemble, as run.model
    scores = evaluate(model, "sales.csv", test="sales_test.csv")  # model and baselines: MASE, OWA, ...
    forecasts = predict(model, "sales.csv", series="P0072")       # quantiles (S, H, Q)

Files, in reading order:

* ``data.py``      -- M4 wide / UCI wide / long CSV loaders, format detection, bad-input errors
* ``config.py``    -- :class:`ForecastConfig` (one member model, nests the core's ``EncoderConfig``)
  and :class:`ForecastSettings` (the training's settings and defaults)
* ``baselines.py`` -- naive, seasonal naive, mean, moving average, SES, damped trend, Theta, Naive2
* ``windows.py``   -- training windows from every series (short series padded, with a mask)
* ``model.py``     -- :class:`PatchForecaster`: RevIN + patches as tokens + ``Encoder`` + direct head
* ``pretrain.py``  -- masked patch reconstruction (self-supervised), optional before training
* ``train.py``     -- :func:`train`: an ensemble with the core ``Trainer`` (select the epochs, then refit)
* ``ensemble.py``  -- :func:`load` (the trained ensemble) and :func:`predict` (its median forecast)
* ``evaluate.py``  -- :func:`evaluate`: the model beside every baseline, M4's metrics
* ``plot.py``      -- history, forecast, P10–P90 band and actuals as a PNG (matplotlib optional)
* ``synthetic.py`` -- a seeded simulator of weekly sales (seasons, trends, promotions) for the demo and tests
* ``cli.py``       -- ``minitransformer forecast train|evaluate|predict|simulate``

The metrics (MAE, RMSE, MASE, sMAPE, OWA, pinball) are in :mod:`minitransformer.metrics.forecasting`.

The names below are imported on first use, so ``import tasks.forecasting`` does not load torch.
Two verbs share their name with a file (``train``, ``evaluate``): ``tasks.forecasting.train``
is always the verb; import other names of those files with ``from tasks.forecasting.train
import ...``.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING

#: public name -> the module (under tasks.forecasting) that defines it
_EXPORTS = {
    "train": "train", "load": "ensemble", "evaluate": "evaluate", "predict": "ensemble",
    "ForecastSettings": "config", "ForecastConfig": "config", "forecast_encoder": "config",
    "ForecastEnsemble": "ensemble", "Forecasts": "ensemble", "SeriesSet": "data", "load_series": "data",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value  # cache: the next access is a plain attribute lookup
    return value


def __dir__() -> list[str]:
    return __all__


class _Package(types.ModuleType):
    """This package, where an exported name wins over a submodule of the same name.

    Importing ``tasks.forecasting.train`` makes Python set the package attribute ``train`` to
    that module, which would hide the ``train`` verb; that one assignment is skipped (the module
    is still in ``sys.modules``, so ``from tasks.forecasting.train import ...`` works).
    """

    def __setattr__(self, name: str, value) -> None:
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


if TYPE_CHECKING:  # static analysers and IDEs see ordinary imports (the names of __all__)
    from tasks.forecasting.config import ForecastConfig, ForecastSettings, forecast_encoder  # noqa: F401
    from tasks.forecasting.data import SeriesSet, load_series  # noqa: F401
    from tasks.forecasting.ensemble import ForecastEnsemble, Forecasts, load, predict  # noqa: F401
    from tasks.forecasting.evaluate import evaluate  # noqa: F401
    from tasks.forecasting.train import train  # noqa: F401
