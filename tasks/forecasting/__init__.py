"""Sales forecasting head: a global patch Transformer beside hand-written statistical baselines.

The Python API, four verbs (``minitransformer forecast train|evaluate|predict`` call the same)::

    from tasks.forecasting import ForecastSettings, evaluate, load, predict, train

    run = train("sales.csv", "runs/sales", ForecastSettings(members=1), horizon=13)   # -> Run
    model = load("runs/sales")                                   # the ensemble, as run.model
    scores = evaluate(model, "sales.csv", test="sales_test.csv")  # model and baselines: MASE, OWA, ...
    forecasts = predict(model, "sales.csv", series="P0072", future="promotions.csv")  # (S, H, Q)

Files, in reading order:

* ``timestamps.py`` -- ISO-8601 / Unix-second timestamps, the next dates of a series, calendar features
* ``data.py``      -- M4 wide / UCI wide / long CSV loaders, format detection, bad-input errors
* ``config.py``    -- :class:`ForecastConfig` (one member model, nests the core's ``EncoderConfig``)
  and :class:`ForecastSettings` (the training's settings and defaults)
* ``baselines.py`` -- naive, seasonal naive, mean, moving average, SES, damped trend, Theta, Naive2
* ``windows.py``   -- training windows from every series (short series padded, with a mask)
* ``inputs.py``    -- the columns a model was trained with, and the known future covariates (``--future``)
* ``model.py``     -- :class:`PatchForecaster`: RevIN + patches as tokens + ``Encoder`` + direct head
* ``pretrain.py``  -- masked patch reconstruction (self-supervised), optional before training
* ``train.py``     -- :func:`train`: an ensemble with the core ``Trainer`` (select the epochs, then refit)
* ``ensemble.py``  -- :func:`load` (the trained ensemble) and :func:`predict` (its median forecast)
* ``evaluate.py``  -- :func:`evaluate`: the model beside every baseline, M4's metrics
* ``plot.py``      -- history, forecast, P10–P90 band and actuals as a PNG (matplotlib optional)
* ``synthetic.py`` -- a seeded simulator of weekly sales (seasons, trends, promotions) for the demo and tests
* ``cli.py``       -- ``minitransformer forecast train|evaluate|predict|simulate``

The metrics (MAE, RMSE, MASE, sMAPE, OWA, pinball) are in :mod:`minitransformer.metrics.forecasting`.
"""

from __future__ import annotations

from tasks.forecasting.config import ForecastConfig, ForecastSettings, forecast_encoder
from tasks.forecasting.data import SeriesSet, load_series
from tasks.forecasting.ensemble import ForecastEnsemble, Forecasts, load, predict
from tasks.forecasting.evaluate import evaluate
from tasks.forecasting.train import train

__all__ = ["ForecastConfig", "ForecastEnsemble", "ForecastSettings", "Forecasts", "SeriesSet", "evaluate",
           "forecast_encoder", "load", "load_series", "predict", "train"]
