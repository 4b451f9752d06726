"""``minitransformer forecast train|evaluate|predict`` (the task-module protocol of minitransformer.cli.main).

::

    minitransformer forecast train    --data PATH [--format auto] --horizon H [--context C] --out DIR
    minitransformer forecast evaluate --model DIR --data TRAIN_PATH [--test TEST_PATH] [--json FILE]
    minitransformer forecast predict  --model DIR --data PATH [--series ID] [--plot out.png]
    minitransformer forecast simulate --out FILE.csv [--products N] [--weeks W] [--holdout H] [--seed S]

``evaluate`` without ``--test`` holds out the last H values of each series and forecasts them
from the rest (an honest score only on a file the model was not trained on: the default refit
trains on every value of the training file); with ``--test`` (M4's layout: the same ids, H
values each) it forecasts from the full series and scores against the test file. Every
evaluation prints the model beside the hand-written baselines; ``--json`` writes MAE, RMSE,
MASE, sMAPE, OWA for the model and, under ``"baselines"``, for each baseline. ``predict``
prints ``series_id,step,forecast[,p10,p90]`` as CSV; ``--holdout`` forecasts the last H
values instead (to compare with the actuals). ``simulate`` writes weekly sales of many products
with yearly seasonality, trend, promotions and noise (:mod:`tasks.forecasting.synthetic`) in the
long format; ``--holdout H`` puts the last H weeks in ``FILE_test.csv`` for ``evaluate --test``.

Training defaults (``ForecastSettings``): 3 members (contexts 8H, 6H, 10H, capped at half the
median series length for short series), patches of 8 steps, d_model 64, 2 layers, 5 epochs of
up to 100 windows per series (from the last 1000 values), batch 256, lr 1e-3, MAE loss, and a
13-minute budget for the whole ensemble (``--max-minutes`` changes it). The last H values of
every series validate (best epoch E by OWA, or MASE when the data has zeros); each member is
then retrained on the full series for E epochs (``--no-refit`` keeps the validated weights).

No torch at import time: the heavy modules are imported inside :func:`run`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from minitransformer.cli.options import add_task_actions, non_negative_int, positive_int
from minitransformer.errors import UsageError

__all__ = ["add_arguments", "run"]

_FORMATS = ("auto", "m4", "uci", "long")


def _quantiles(text: str) -> list[float]:
    try:
        values = sorted(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers like 0.1,0.5,0.9, got {text!r}") from None
    if 0.5 not in values or any(not 0 < v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected quantiles in (0, 1) including 0.5, got {text!r}")
    return values


HELP = "sales forecasting from weekly or daily history"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``train``/``evaluate``/``predict`` and their options."""
    actions = add_task_actions(parser, actions=("train", "evaluate", "predict", "simulate"))
    simulate = actions.pop("simulate")  # it has options of its own (add_task_actions)
    for p in actions.values():
        p.add_argument("--format", choices=_FORMATS, default="auto", help="input layout (default auto)")
    train = actions["train"]
    train.add_argument("--horizon", type=int, required=True, metavar="H", help="steps to forecast")
    train.add_argument("--context", type=int, metavar="C",
                       help="history steps the model sees (default 8×H; members vary it)")
    train.add_argument("--patch-len", type=int, default=8, metavar="P", help="steps per token (default 8)")
    train.add_argument("--members", type=int, default=3, metavar="N",
                       help="ensemble size; the forecast is the members' median (default 3)")
    train.add_argument("--quantiles", type=_quantiles, default=[], metavar="Q,..",
                       help="quantile outputs, e.g. 0.1,0.5,0.9 (pinball loss); default: point forecast")
    train.add_argument("--pretrain-epochs", type=int, default=0, metavar="N",
                       help="masked patch reconstruction epochs before supervised training (default 0)")
    train.add_argument("--no-refit", dest="refit", action="store_false",
                       help="keep the selection run's best weights instead of retraining on the full "
                            "series for the selected number of epochs")
    train.add_argument("--d-model", type=int, default=64, metavar="D", help="model width (default 64)")
    train.add_argument("--layers", type=int, default=2, metavar="L", help="encoder layers (default 2)")
    for p in actions.values():
        p.add_argument("--frequency", type=int, metavar="M",
                       help="MASE's seasonal lag m and Naive2's season (M4: 1 for weekly; default 1)")
        p.add_argument("--season", type=int, metavar="S", help="seasonal-naive period (default 52)")
    actions["evaluate"].add_argument("--test", type=Path, metavar="TEST_PATH",
                                     help="held-out values (same ids, H each); default: the last H of --data")
    predict = actions["predict"]
    predict.add_argument("--series", metavar="ID", help="forecast only this series")
    predict.add_argument("--plot", type=Path, metavar="PNG", help="draw the forecast of --series")
    predict.add_argument("--holdout", action="store_true",
                         help="forecast the last H values from the rest (plots show the actuals)")
    simulate.add_argument("--products", type=positive_int, default=300, metavar="N",
                          help="series (default 300)")
    simulate.add_argument("--weeks", type=positive_int, default=156, metavar="W",
                          help="weeks of sales per product (default 156)")
    simulate.add_argument("--holdout", type=non_negative_int, default=0, metavar="H",
                          help="write the last H weeks to FILE_test.csv instead (default 0)")


def run(args: argparse.Namespace) -> int | None:
    if args.action == "simulate":
        return _simulate(args)
    if args.resume is not None:
        raise UsageError("--resume: not supported by 'forecast' (retrain; each member keeps its "
                         "own checkpoints under DIR/member_*)")
    return {"train": _train, "evaluate": _evaluate, "predict": _predict}[args.action](args)


def _need(args, name: str, flag: str) -> Path:
    value = getattr(args, name)
    if value is None:
        raise UsageError(f"{flag} is required for 'forecast {args.action}'")
    return value


def _train(args) -> int:
    from tasks.forecasting.data import load_series
    from tasks.forecasting.pipeline import ForecastSettings, train_ensemble

    data_path, out = _need(args, "data", "--data"), _need(args, "out", "--out")
    for flag, value in (("--horizon", args.horizon), ("--members", args.members),
                        ("--patch-len", args.patch_len), ("--d-model", args.d_model),
                        ("--layers", args.layers)):
        if value <= 0:
            raise UsageError(f"{flag}: expected a positive integer, got {value}")
    if args.context is not None and args.context <= 0:
        raise UsageError(f"--context: expected a positive integer, got {args.context}")
    if (out / "forecast.json").exists():
        raise UsageError(f"--out {out}: already holds a trained model; choose another directory")
    data = load_series(data_path, args.format)
    defaults = ForecastSettings()
    settings = ForecastSettings(
        horizon=args.horizon, context=args.context, patch_len=args.patch_len, members=args.members,
        quantiles=args.quantiles, pretrain_epochs=args.pretrain_epochs, refit=args.refit,
        d_model=args.d_model, num_layers=args.layers, nhead=4 if args.d_model % 4 == 0 else 1,
        epochs=args.epochs or defaults.epochs, batch_size=args.batch_size or defaults.batch_size,
        lr=args.lr or defaults.lr, max_minutes=args.max_minutes or defaults.max_minutes,
        frequency=args.frequency or 1, season=args.season or 52, format=data.format)
    print(f"{data_path}: {len(data)} series ({data.format} format), horizon {settings.horizon}")
    summary = train_ensemble(data, settings, out, seed=args.seed, device=args.device)
    print(f"trained {settings.members} member(s) in {summary['train_seconds']} s -> {out}")
    for m in summary["members"]:
        print(f"  member {m['member']}: context {m['context']}, best epoch {m['best_epoch']}, "
              f"validation {m['monitor']} {m['valid_best'] or float('nan'):.4f} ({m['stop_reason']})"
              + (f"; refit {m['refit_epochs']} epoch(s) on the full series" if "refit_epochs" in m else ""))
    _write_json(args.json, summary)
    return 0


def _evaluate(args) -> int:
    from tasks.forecasting.data import load_series
    from tasks.forecasting.pipeline import load_ensemble, predict, score_with_baselines, split_last

    settings, models = load_ensemble(_need(args, "model", "--model"))
    _apply_overrides(settings, args)
    data = load_series(_need(args, "data", "--data"), args.format)
    h = settings.horizon
    future_extra = None
    if args.test is None:
        histories, actuals, _ = split_last(data, h)
        skipped, mode = len(data) - len(histories), f"last {h} values of each series held out"
    else:
        test = load_series(args.test, args.format)
        histories, actuals, skipped = _match_test(data, test, h, args.test)
        mode = f"scored against {args.test}"
        if test.covariates is not None:                            # known future covariates (promotions)
            future_extra = dict(zip(test.ids, test.covariates))
    forecasts = predict(models, histories, h, future_extra)[..., models[0].median_index]
    result = score_with_baselines(histories, actuals, forecasts, settings)
    result.update({"horizon": h, "mode": mode, "series_skipped_too_short": skipped})
    print(f"{len(histories)} series, horizon {h}, {mode}"
          + (f"; {skipped} series with at most {h} values skipped" if skipped else ""))
    if args.test is None and settings.refit:
        print("note: the model was refit on the full training series; if --data is its training file, "
              "the held-out values were seen in training (pass --test, or train on a file without them)")
    print(_table(result))
    if result.get("mase_skipped"):
        print(f"({result['mase_skipped']} series with a flat history have no MASE and are left out of it)")
    _write_json(args.json, result)
    return 0


def _match_test(data, test, h: int, path: Path):
    """Pair each test series with its history by id; every test series needs exactly h values."""
    import numpy as np

    position = {series_id: i for i, series_id in enumerate(data.ids)}
    actuals, keep = [], []
    for series_id, values in zip(test.ids, test.values):
        if series_id not in position:
            raise ValueError(f"{path}: series {series_id!r} is not in the training data")
        if values.size != h:
            raise ValueError(f"{path}: series {series_id!r} has {values.size} values, "
                             f"expected {h} (the horizon)")
        keep.append(position[series_id])
        actuals.append(np.asarray(values))
    data.ids = [data.ids[i] for i in keep]
    data.values = [data.values[i] for i in keep]
    if data.dates is not None:
        data.dates = [data.dates[i] for i in keep]
    if data.covariates is not None:
        data.covariates = [data.covariates[i] for i in keep]
    return data, actuals, len(position) - len(keep)


def _predict(args) -> int:
    import numpy as np

    from tasks.forecasting.data import load_series
    from tasks.forecasting.pipeline import load_ensemble, predict, split_last

    settings, models = load_ensemble(_need(args, "model", "--model"))
    data = load_series(_need(args, "data", "--data"), args.format)
    if args.series is not None:
        if args.series not in data.ids:
            raise UsageError(f"--series {args.series!r}: not in {args.data} (ids like {data.ids[:3]})")
        i = data.ids.index(args.series)
        data.ids, data.values = [data.ids[i]], [data.values[i]]
        data.dates = None if data.dates is None else [data.dates[i]]
        data.covariates = None if data.covariates is None else [data.covariates[i]]
    if args.plot is not None and args.series is None:
        raise UsageError("--plot needs --series ID (one plot per series)")
    h, actuals = settings.horizon, None
    if args.holdout:
        data, actuals, _ = split_last(data, h)
    out = predict(models, data, h)                                 # (S, H, Q)
    quantiles = models[0].config.quantiles
    mid = models[0].median_index
    header = ["series_id", "step", "forecast"] + [f"p{round(q * 100)}" for q in quantiles if q != 0.5]
    print(",".join(header))
    for s, series_id in enumerate(data.ids):
        for step in range(h):
            extra = [f"{out[s, step, k]:.4f}" for k, q in enumerate(quantiles) if q != 0.5]
            print(",".join([series_id, str(step + 1), f"{out[s, step, mid]:.4f}", *extra]))
    if args.plot is not None:
        from tasks.forecasting.plot import plot_forecast

        low = out[0, :, 0] if quantiles else None
        high = out[0, :, -1] if quantiles else None
        path = plot_forecast(args.plot, data.ids[0], data.values[0], out[0, :, mid], low, high,
                             None if actuals is None else np.asarray(actuals[0]))
        print(f"plot written to {path}", file=sys.stderr)
    _write_json(args.json, {"series": data.ids, "quantiles": quantiles, "forecasts": out.tolist()})
    return 0


def _simulate(args) -> int:
    from tasks.forecasting.synthetic import SalesConfig, write_sales

    out = _need(args, "out", "--out")
    summary = write_sales(out, SalesConfig(products=args.products, weeks=args.weeks, seed=args.seed),
                          holdout=args.holdout)
    print(f"{summary['series']} products x {summary['weeks']} weeks written to "
          + " and ".join(summary["files"]))
    return 0


def _apply_overrides(settings, args) -> None:
    if args.frequency is not None:
        settings.frequency = args.frequency
    if args.season is not None:
        settings.season = args.season


def _table(result: dict) -> str:
    keys = ("MAE", "RMSE", "MASE", "sMAPE", "OWA")
    lines = ["| method | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    rows = [("model (median of members)", result)] + list(result["baselines"].items())
    for name, scores in rows:
        lines.append(f"| {name} | " + " | ".join(f"{scores.get(k, float('nan')):.3f}" for k in keys) + " |")
    return "\n".join(lines)


def _write_json(target: str | None, payload: dict) -> None:
    if target is None:
        return
    text = json.dumps(payload, indent=2, default=float) + "\n"
    if target == "-":
        sys.stdout.write(text)
    else:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_text(text, encoding="utf-8")
