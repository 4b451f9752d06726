"""Sales forecasting head: a global patch Transformer beside hand-written statistical baselines.

Files, in reading order:

* ``data.py``      -- M4 wide / UCI wide / long CSV loaders, format detection, bad-input errors
* ``baselines.py`` -- naive, seasonal naive, mean, moving average, SES, damped trend, Theta, Naive2
* ``windows.py``   -- training windows from every series (short series padded, with a mask)
* ``model.py``     -- :class:`PatchForecaster`: RevIN + patches as tokens + ``Encoder`` + direct head
* ``pretrain.py``  -- masked patch reconstruction (self-supervised), optional before training
* ``pipeline.py``  -- train an ensemble with the core ``Trainer``, save/load, predict, score
* ``plot.py``      -- history, forecast, P10–P90 band and actuals as a PNG (matplotlib optional)
* ``synthetic.py`` -- a seeded simulator of weekly sales (seasons, trends, promotions) for the demo and tests
* ``cli.py``       -- ``minitransformer forecast train|evaluate|predict|simulate``

The metrics (MAE, RMSE, MASE, sMAPE, OWA, pinball) are in :mod:`minitransformer.metrics.forecasting`.
"""
