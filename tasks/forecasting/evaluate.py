"""Scoring: the ensemble's forecasts beside every hand-written baseline, the M4 way.

:func:`evaluate` forecasts ``H`` values of every series and scores them with
:func:`minitransformer.metrics.forecasting.score_forecasts` (MAE and RMSE pooled; sMAPE and MASE
per series, then averaged), for the model and for each baseline of
:mod:`tasks.forecasting.baselines` on the same values. OWA is M4's overall score, each error
relative to Naive2's on the same values::

    OWA = ½ (sMAPE / sMAPE_Naive2 + MASE / MASE_Naive2)        (Naive2: OWA = 1)

Two ways to get the values to forecast:

* **without** ``test``: the last ``H`` values of each series of ``data`` are held out and
  forecast from the rest -- an honest score only on a file the model was not trained on (the
  default refit trains on every value of the training file);
* **with** ``test`` (M4's layout: the same ids, ``H`` values each): the full series of ``data``
  are the histories and ``test`` holds the values to forecast; its covariate columns (e.g.
  planned promotions) are given to the model as known future covariates.

Either way the covariates of the forecast steps are known (held-out rows, or the test file) and
given to the model, as a shop knows its planned promotions. Both files must have the columns
the model was trained with (:func:`~tasks.forecasting.inputs.model_inputs`); a test file's
dates, when both files have dates, must come after its series' history.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from minitransformer.metrics.forecasting import owa, score_forecasts
from tasks.forecasting.baselines import BASELINE_NAMES, baseline_forecasts
from tasks.forecasting.config import ForecastSettings
from tasks.forecasting.data import SeriesSet, split_last, to_series_set
from tasks.forecasting.ensemble import ForecastEnsemble
from tasks.forecasting.inputs import held_out_future
from tasks.forecasting.timestamps import format_timestamp

__all__ = ["evaluate", "score_with_baselines", "relative_owa", "match_test", "check_frequency"]


def relative_owa(scores: dict, reference: dict) -> float:
    """OWA of ``scores`` relative to ``reference`` (Naive2's); NaN when Naive2 is perfect."""
    try:
        return owa(scores["sMAPE"], scores["MASE"], reference["sMAPE"], reference["MASE"])
    except ValueError:                                              # Naive2 perfect: OWA undefined
        return float("nan")


def score_with_baselines(histories: SeriesSet, actuals: list[np.ndarray], forecasts: np.ndarray | None,
                         settings: ForecastSettings, baseline_names=BASELINE_NAMES) -> dict:
    """Scores of the model's point ``forecasts`` ``(S, H)`` (if given) and of every baseline
    (under ``"baselines"``); OWA relative to Naive2 when Naive2 is among them."""
    h = settings.horizon
    per_method = {name: [] for name in baseline_names}
    for x in histories.values:
        for name, f in baseline_forecasts(x, h, settings.season, settings.frequency,
                                          names=baseline_names).items():
            per_method[name].append(f)
    insamples = histories.values
    baselines = {name: score_forecasts(actuals, fs, insamples, settings.frequency)
                 for name, fs in per_method.items()}
    reference = baselines.get("Naive2")
    if reference is not None:
        for scores in baselines.values():
            scores["OWA"] = relative_owa(scores, reference)
    result = {"baselines": baselines}
    if forecasts is not None:
        result.update(score_forecasts(actuals, list(forecasts), insamples, settings.frequency))
        if reference is not None:
            result["OWA"] = relative_owa(result, reference)
    return result


def match_test(data: SeriesSet, test: SeriesSet, h: int, source: str = "test"
               ) -> tuple[SeriesSet, list[np.ndarray], int]:
    """``(histories, actuals, skipped)``: each test series paired with its history by id.

    Every test series needs exactly ``h`` values and a history in ``data`` (else a
    ``ValueError`` naming ``source``); ``skipped`` counts the series of ``data`` without a test.
    """
    position = {series_id: i for i, series_id in enumerate(data.ids)}
    actuals, keep = [], []
    for j, (series_id, values) in enumerate(zip(test.ids, test.values)):
        if series_id not in position:
            raise ValueError(f"{source}: series {series_id!r} is not in the training data")
        if values.size != h:
            raise ValueError(f"{source}: series {series_id!r} has {values.size} values, "
                             f"expected {h} (the horizon)")
        i = position[series_id]
        if data.dates is not None and test.dates is not None and test.dates[j][0] <= data.dates[i][-1]:
            raise ValueError(f"{source}: series {series_id!r} starts at "
                             f"{format_timestamp(test.dates[j][0])}, not after the end of its history "
                             f"({format_timestamp(data.dates[i][-1])})")
        keep.append(i)
        actuals.append(np.asarray(values))
    return data.subset(keep), actuals, len(position) - len(keep)


def check_frequency(histories: SeriesSet, frequency: int) -> None:
    """Refuse a MASE lag ``m`` that no history is long enough for (every MASE would be undefined)."""
    longest = int(histories.lengths().max())
    if longest <= frequency:
        raise ValueError(f"frequency {frequency}: every history has at most {longest} values; MASE "
                         f"compares each value with the one {frequency} steps earlier, so it needs more "
                         "(use a smaller --frequency, 1 for weekly data as in M4)")


def evaluate(model: ForecastEnsemble, data: SeriesSet | str | Path,
             test: SeriesSet | str | Path | None = None, *, frequency: int | None = None,
             season: int | None = None, format: str = "auto", batch_size: int = 1024) -> dict:
    """Score ``model`` beside the baselines on ``data`` (and ``test``; see the module docstring).

    ``frequency`` and ``season`` replace the model's scoring settings (MASE's lag and Naive2's
    season; the seasonal-naive period); ``batch_size`` series are forecast at once. Returns
    what ``forecast evaluate --json`` writes: the
    model's ``MAE, RMSE, MASE, sMAPE, OWA`` (and ``series``, ``mase_skipped``), the same for each
    baseline under ``"baselines"``, and ``horizon``, ``mode``, ``series_skipped_too_short``.

    Examples:
        >>> import tempfile
        >>> from tasks.forecasting import ForecastSettings, evaluate, forecast_encoder, train
        >>> from tasks.forecasting.synthetic import SalesConfig, write_sales
        >>> folder = tempfile.mkdtemp()
        >>> _ = write_sales(f"{folder}/sales.csv", SalesConfig(products=8, weeks=60), holdout=4)
        >>> tiny = ForecastSettings(horizon=4, context=16, patch_len=4, members=1, epochs=1, refit=False,
        ...                         encoder=forecast_encoder(d_model=16, num_layers=1))
        >>> run = train(f"{folder}/sales.csv", f"{folder}/model", tiny, verbose=False)
        >>> scores = evaluate(run.model, f"{folder}/sales.csv", test=f"{folder}/sales_test.csv")
        >>> {"MASE", "sMAPE", "OWA"} <= set(scores), list(scores["baselines"])[:3], scores["series"]
        (True, ['Naive2', 'Naive', 'SeasonalNaive'], 8)
    """
    kept = model.settings
    settings = replace(kept, frequency=kept.frequency if frequency is None else frequency,
                       season=kept.season if season is None else season)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive integer, got {batch_size!r}")
    h = model.horizon
    series = model.inputs(to_series_set(data, format), _name(data, "data"))
    if test is None:
        histories, actuals, kept_series = split_last(series, h)
        future = held_out_future(series.subset(kept_series), h)   # the held-out steps' covariates
        skipped, mode = len(series) - len(histories), f"last {h} values of each series held out"
    else:
        source = _name(test, "test")
        test_set = model.inputs(to_series_set(test, format), source, need_dates=False)
        histories, actuals, skipped = match_test(series, test_set, h, source)
        mode = f"scored against {source}"
        future = held_out_future(test_set, h)                      # known future covariates (promotions)
    check_frequency(histories, settings.frequency)
    forecasts = model.forecast(histories, future, batch_size)[..., model.median_index]   # (S, H)
    result = score_with_baselines(histories, actuals, forecasts, settings)
    result.update({"horizon": h, "mode": mode, "series_skipped_too_short": skipped})
    return result


def _name(data, default: str) -> str:
    return str(data) if isinstance(data, (str, Path)) else default
