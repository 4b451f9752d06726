"""The demo's forecasting use case: weekly sales with promotions -> patch Transformer -> MASE.

Data: :mod:`tasks.forecasting.synthetic` (yearly seasonality, trend, promotions, Poisson
noise), the last 13 weeks of every product held out in ``data/weekly_sales_test.csv``; the
promotions of those weeks are known in advance (a shop plans them), their sales are not.
Training and evaluation: the head's Python verbs ``tasks.forecasting.train`` and
``tasks.forecasting.evaluate`` (what ``minitransformer forecast train`` and ``forecast evaluate
--test`` run), which score the model beside the hand-written baselines (seasonal naive, Theta,
damped trend, ...). MASE is M4's: the mean absolute error over the 13 weeks, scaled by the
in-sample error of the naive forecast, averaged over the products.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from minitransformer.nn.io import save_json
from tasks.demo.context import DemoContext, Picture, Score, UseCaseResult
from tasks.demo.pictures import curves_picture, draw

__all__ = ["run", "SETTINGS", "HORIZON"]

HORIZON = 13
#: simulated shop, encoder size (``forecast_encoder``) and training settings (``ForecastSettings``),
#: full demo and --quick
SETTINGS = {
    "full": {"products": 300, "weeks": 156, "encoder": {},
             "train": {"members": 1, "epochs": 3, "lr": 3e-3, "refit": False, "quantiles": [0.1, 0.5, 0.9]}},
    "quick": {"products": 80, "weeks": 130, "encoder": {"d_model": 32},
              "train": {"members": 1, "epochs": 2, "lr": 3e-3, "refit": False, "quantiles": [0.1, 0.5, 0.9]}},
}


def _example(train, test) -> int:
    """The product to draw: the best seller with a promotion in the forecast weeks."""
    promoted = [i for i, cov in enumerate(test.covariates) if cov[:, 0].max() > 0]
    candidates = promoted or list(range(len(train)))
    return max(candidates, key=lambda i: train.values[i][-52:].mean())


def _pictures(ctx: DemoContext, run, data_path, test_path) -> tuple[list[Picture], str]:
    import torch

    from minitransformer import record_attention
    from minitransformer.pictures.plotting import plot_attention
    from tasks.forecasting import load_series, predict
    from tasks.forecasting.plot import plot_forecasts
    from tasks.forecasting.windows import forecast_batch

    model = run.model                                                 # the trained ensemble
    train, test = load_series(data_path), load_series(test_path)
    i = _example(train, test)
    one, future = train.subset([i]), {test.ids[i]: test.covariates[i]}
    forecasts = dataclasses.replace(predict(model, one, future=future), actuals=[test.values[i]])
    folder = ctx.pictures_dir
    pictures = []
    promo_weeks = ", ".join(str(k + 1) for k in np.flatnonzero(test.covariates[i][:, 0]))
    path = draw(ctx, "forecast", plot_forecasts, folder / "forecast_series.png", forecasts)
    if path:
        pictures.append(Picture(f"Product {one.ids[0]}: history, the forecast (P50) with its P10-P90 band, "
                                f"and the actual sales; promotion in forecast week(s) {promo_weeks}", path))
    member = model.members[0]
    batch = forecast_batch(one, member.config.context, HORIZON, future)
    with torch.no_grad(), record_attention(member) as maps:
        member(batch["values"], batch["observed"], batch.get("covariates"))
    size = next(iter(maps.values())).shape[-1]                        # patches (+ the future token)
    starts = one.dates[0][-member.config.context:][::member.config.patch_len]
    labels = [f"from {d}" for d in starts][:size]
    labels += ["next 13 wk"] * (size - len(labels))                  # the known-future covariates token
    path = draw(ctx, "forecast attention", plot_attention, maps, folder / "forecast_attention.png",
                query_labels=labels, title=f"{one.ids[0]}: attention between patches of "
                                           f"{member.config.patch_len} weeks")
    if path:
        pictures.append(Picture("Attention between the patches of the context (and the token of the "
                                "known future: calendar and promotions)", path))
    pictures += curves_picture(ctx, "forecast training curves", run.model_dir / model.settings.member_dirs[0],
                               folder / "forecast_curves.png",
                               "Training curves (validation: the last 13 weeks of the training file)",
                               title="forecaster: training loss and validation scores")
    return pictures, one.ids[0]


def _train_and_evaluate(ctx: DemoContext, setting: dict, data, test, run_dir):
    """Train on the simulated shop, score the held-out weeks; the evaluation report is also kept
    as ``logs/forecast_evaluate.json``. Returns the :class:`~minitransformer.training.Run` and the report."""
    import tasks.forecasting
    from tasks.forecasting.config import ForecastSettings, forecast_encoder

    config = ForecastSettings(horizon=HORIZON, encoder=forecast_encoder(**setting["encoder"]),
                              **setting["train"])
    with ctx.logged("forecast", f"tasks.forecasting.train({data.name}) and "
                                f"tasks.forecasting.evaluate({data.name}, test={test.name})"):
        run = tasks.forecasting.train(data, run_dir, config, seed=ctx.seed, device=ctx.device,
                                      max_minutes=ctx.budget_minutes())
        report = tasks.forecasting.evaluate(run.model, data, test)
    path = ctx.folder("logs") / "forecast_evaluate.json"
    save_json(path, report)
    return run, report


def run(ctx: DemoContext) -> UseCaseResult:
    from tasks.forecasting.data import load_series
    from tasks.forecasting.synthetic import SalesConfig, write_sales

    setting = SETTINGS["quick" if ctx.quick else "full"]
    start = time.monotonic()
    data = ctx.data_dir / "weekly_sales.csv"
    written = write_sales(data, SalesConfig(products=setting["products"], weeks=setting["weeks"],
                                            seed=ctx.seed), holdout=HORIZON)
    test = data.with_name(f"{data.stem}_test{data.suffix}")
    run_dir = ctx.run_dir("forecast")
    trained, report = _train_and_evaluate(ctx, setting, data, test, run_dir)
    baselines = {name: values["MASE"] for name, values in report["baselines"].items()}
    scores = [Score(f"MASE ({written['series']} products, {HORIZON} weeks ahead)", report["MASE"], baselines,
                    higher_is_better=False)]
    seasonal = report["baselines"]["SeasonalNaive"]
    notes = [f"sMAPE {report['sMAPE']:.2f} (seasonal naive {seasonal['sMAPE']:.2f}); the promotions of the "
             f"forecast weeks are known to the model, not to the baselines."]
    pictures, series = _pictures(ctx, trained, data, test) if ctx.draw else ([], None)
    series = series or load_series(data).ids[0]
    return UseCaseResult(
        name="sales forecasting",
        data=(f"weekly sales of {written['series']} products over {written['weeks']} weeks: yearly seasons "
              f"(winter, summer, back-to-school, all-year), trends, promotions that lift sales, Poisson "
              f"noise; the last {HORIZON} weeks held out (tasks/forecasting/synthetic.py)"),
        scores=scores, seconds=time.monotonic() - start, run_dir=run_dir,
        next_command=["forecast", "predict", "--model", str(run_dir), "--data", str(data),
                      "--series", series],
        next_note=f"the next {HORIZON} weeks of {series} with the P10-P90 range, as CSV",
        pictures=pictures, notes=notes)
