"""``minitransformer forecast train|evaluate|predict|simulate`` (the task-module protocol of
minitransformer.cli.main).

::

    minitransformer forecast train    --data PATH [--format auto] --horizon H [--context C] --out DIR
    minitransformer forecast evaluate --model DIR --data TRAIN_PATH [--test TEST_PATH] [--json FILE]
    minitransformer forecast predict  --model DIR --data PATH [--future FILE] [--series ID] [--plot out.png]
    minitransformer forecast simulate --out FILE.csv [--products N] [--weeks W] [--holdout H] [--seed S]

``evaluate`` without ``--test`` holds out the last H values of each series and forecasts them
from the rest (an honest score only on a file the model was not trained on: the default refit
trains on every value of the training file); with ``--test`` (M4's layout: the same ids, H
values each) it forecasts from the full series and scores against the test file. Every
evaluation prints the model beside the hand-written baselines; ``--json`` writes MAE, RMSE,
MASE, sMAPE, OWA for the model and, under ``"baselines"``, for each baseline. ``predict``
prints ``series_id,date,forecast[,p10,p90]`` as CSV (``step`` 1..H instead of ``date`` when
the data has no dates); ``--future FILE`` gives the planned covariates of the forecast steps
(e.g. promotions) of a model trained with covariates, and ``--holdout`` forecasts the last H
values instead (to compare with the actuals). ``simulate`` writes weekly sales of many products
with yearly seasonality, trend, promotions and noise (:mod:`tasks.forecasting.synthetic`) in the
long format, to a new file; ``--holdout H`` puts the last H weeks in ``FILE_test.csv`` for
``evaluate --test``. The layouts each action reads are on the page ``docs/tasks/forecasting.md``,
section "Your own data".

Training defaults (:class:`~tasks.forecasting.config.ForecastSettings`): 3 members (contexts
8H, 6H, 10H, capped at half the median series length for short series), patches of 8 steps,
d_model 64, 2 layers, 5 epochs of up to 100 windows per series (from the last 1000 values),
batch 256, lr 1e-3, MAE loss, and a 13-minute budget for the whole ensemble (``--max-minutes``
changes it). The last H values of every series validate (best epoch E by OWA, or MASE when the
data has zeros); each member is then retrained on the full series for E epochs (``--no-refit``
keeps the validated weights). A training cannot be resumed (there is no ``--resume``): each
member's selection run and refit are short, and a refused or failed one is simply run again
into a new folder.

Every option is checked by argparse before any work (counts at least 1, quantiles in (0, 1)),
every file before anything is written; an output file (``--json``, ``--plot``) may not be an
input file. This module only reads the options and prints: the work is done by the head's verbs
(:func:`tasks.forecasting.train`, ``load``, ``evaluate``, ``predict``), imported inside
:func:`run`, so ``--help`` does not load torch.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import warnings
from pathlib import Path

from minitransformer.cli.options import (
    TRAIN_OPTIONS,
    USE_OPTIONS,
    add_common_options,
    add_task_actions,
    non_negative_int,
    number,
    positive_int,
    require,
    write_json,
)
from minitransformer.errors import UsageError

__all__ = ["HELP", "add_arguments", "run"]

HELP = "sales forecasting from weekly or daily history"
DATA_PAGE = "docs/tasks/forecasting.md, section 'Your own data'"
_FORMATS = ("auto", "m4", "uci", "long")
_LAYOUTS = ("a CSV in one of three layouts: long (series_id,date,value plus numeric covariate columns "
            "such as promo; date optional: ISO-8601 or Unix seconds), M4's wide rows (V1,V2,...) or UCI's "
            "(Product_Code,W0,W1,...)")
DESCRIPTIONS = {
    "train": f"Train an ensemble of patch Transformer forecasters. Reads {_LAYOUTS}; no empty cells "
             f"(missing values are refused, not filled); see {DATA_PAGE}.",
    "evaluate": "Score a trained model beside the statistical baselines (MASE, sMAPE, OWA, MAE, RMSE). "
                "Reads --data in the training file's layout and columns, and --test (the next H values "
                f"of each series) if given; see {DATA_PAGE}.",
    "predict": "Forecast the next H steps of every series (or --series ID) as CSV: series_id,date (or "
               "step),forecast and the quantiles. Reads --data in the training file's layout and columns, "
               f"and --future (the planned covariates of the H steps) if given; see {DATA_PAGE}.",
    "simulate": "Write the built-in seeded weekly sales (series_id,date,value,promo) to a new CSV file.",
}
_ALL_OPTIONS = set(TRAIN_OPTIONS)
_MEMBERS = number(int, 1, 100, description="an integer from 1 to 100")


def _quantiles(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers like 0.1,0.5,0.9, got {text!r}") from None
    if 0.5 not in values or any(not 0 < v < 1 for v in values) or len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(
            f"expected different quantiles in (0, 1) including 0.5, got {text!r}")
    return sorted(values)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``train``/``evaluate``/``predict``/``simulate`` and their options."""
    actions = add_task_actions(parser, actions=("train", "evaluate", "predict", "simulate"), common=False)
    for action, text in DESCRIPTIONS.items():
        actions[action].description = text
    # train starts from scratch (no --model) and cannot resume (no --resume)
    add_common_options(actions["train"], skip=_ALL_OPTIONS - set(TRAIN_OPTIONS) | {"model", "resume"})
    for action in ("evaluate", "predict"):
        add_common_options(actions[action], skip=_ALL_OPTIONS - set(USE_OPTIONS))
    for action in ("train", "evaluate", "predict"):
        actions[action].add_argument("--format", choices=_FORMATS, default="auto",
                                     help="input layout (default auto: detected from the header)")
    _train_options(actions["train"])
    for action in ("train", "evaluate"):                    # how forecasts are scored
        p = actions[action]
        p.add_argument("--frequency", type=positive_int, metavar="M",
                       help="MASE's seasonal lag m and Naive2's season (M4: 1 for weekly; default 1)")
        p.add_argument("--season", type=positive_int, metavar="S", help="seasonal-naive period (default 52)")
    actions["evaluate"].add_argument("--test", type=Path, metavar="TEST_PATH",
                                     help="held-out values (same ids, H each); default: the last H of --data")
    predict = actions["predict"]
    predict.add_argument("--future", type=Path, metavar="FILE",
                         help="planned covariates of the H forecast steps (series_id[,date],promo,...), "
                              "for a model trained with covariates")
    predict.add_argument("--series", metavar="ID", help="forecast only this series")
    predict.add_argument("--plot", type=Path, metavar="PNG", help="draw the forecast of --series")
    predict.add_argument("--holdout", action="store_true",
                         help="forecast the last H values from the rest (plots show the actuals)")
    simulate = actions["simulate"]
    simulate.add_argument("--products", default=300,
                          type=number(int, 1, 100_000, description="an integer from 1 to 100000"),
                          metavar="N", help="series (default 300)")
    simulate.add_argument("--weeks", type=number(int, 2, 5_200, description="an integer from 2 to 5200"),
                          default=156, metavar="W", help="weeks of sales per product (default 156)")
    simulate.add_argument("--holdout", type=non_negative_int, default=0, metavar="H",
                          help="write the last H weeks to FILE_test.csv instead (default 0)")


def _train_options(train: argparse.ArgumentParser) -> None:
    train.add_argument("--horizon", type=positive_int, required=True, metavar="H", help="steps to forecast")
    train.add_argument("--context", type=positive_int, metavar="C",
                       help="history steps the model sees (default 8×H; members vary it)")
    train.add_argument("--patch-len", type=positive_int, default=8, metavar="P",
                       help="steps per token (default 8)")
    train.add_argument("--members", type=_MEMBERS, default=3, metavar="N",
                       help="ensemble size, 1 to 100; the forecast is the members' median (default 3)")
    train.add_argument("--quantiles", type=_quantiles, default=[], metavar="Q,..",
                       help="quantile outputs, e.g. 0.1,0.5,0.9 (pinball loss); default: point forecast")
    train.add_argument("--pretrain-epochs", type=non_negative_int, default=0, metavar="N",
                       help="masked patch reconstruction epochs before supervised training (default 0)")
    train.add_argument("--no-refit", dest="refit", action="store_false",
                       help="keep the selection run's best weights instead of retraining on the full "
                            "series for the selected number of epochs")
    train.add_argument("--d-model", type=positive_int, default=64, metavar="D",
                       help="model width (default 64)")
    train.add_argument("--layers", type=positive_int, default=2, metavar="L",
                       help="encoder layers (default 2)")


def run(args: argparse.Namespace) -> int | None:
    _check_outputs(args)
    return {"train": _train, "evaluate": _evaluate, "predict": _predict,
            "simulate": _simulate}[args.action](args)


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse an output file (``--json``, ``--plot``) that is a folder or one of the input files."""
    inputs = [getattr(args, name, None) for name in ("data", "test", "future")]
    inputs = [Path(p).resolve() for p in inputs if p is not None]
    for option in ("json", "plot"):
        target = getattr(args, option, None)
        if target is None or str(target) == "-":
            continue
        target = Path(target)
        if target.is_dir():
            raise UsageError(f"--{option} {target}: expected a file name, got a folder")
        if target.resolve() in inputs:
            raise UsageError(f"--{option} {target}: this is an input file; choose another name "
                             "(an output never overwrites the data)")


def _settings(args: argparse.Namespace):
    """The :class:`~tasks.forecasting.config.ForecastSettings` the train options describe."""
    from tasks.forecasting.config import ForecastSettings, forecast_encoder

    defaults = ForecastSettings()
    return ForecastSettings(
        horizon=args.horizon, context=args.context, patch_len=args.patch_len, members=args.members,
        quantiles=args.quantiles, pretrain_epochs=args.pretrain_epochs, refit=args.refit,
        encoder=forecast_encoder(d_model=args.d_model, num_layers=args.layers),
        epochs=args.epochs or defaults.epochs, batch_size=args.batch_size or defaults.batch_size,
        lr=args.lr or defaults.lr, frequency=args.frequency or defaults.frequency,
        season=args.season or defaults.season)


def _train(args: argparse.Namespace) -> int:
    from tasks.forecasting import train

    require(args, "data", "out")
    run = train(args.data, args.out, _settings(args), seed=args.seed, device=args.device,
                max_minutes=args.max_minutes, format=args.format)
    members = run.metrics["members"]
    print(f"trained {len(members)} member(s) in {round(run.seconds, 1)} s -> {args.out}")
    for m in members:
        best = float("nan") if m["valid_best"] is None else m["valid_best"]
        print(f"  member {m['member']}: context {m['context']}, best epoch {m['best_epoch']}, "
              f"validation {m['monitor']} {best:.4f} ({m['stop_reason']})"
              + (f"; refit {m['refit_epochs']} epoch(s) on the full series" if "refit_epochs" in m else ""))
    write_json(args.json, {**run.metrics, "train_seconds": round(run.seconds, 1)})
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from tasks.forecasting import evaluate, load

    require(args, "model", "data")
    model = load(args.model, device=args.device)
    result = evaluate(model, args.data, args.test, frequency=args.frequency, season=args.season,
                      format=args.format, batch_size=args.batch_size or 1024)
    h, skipped = result["horizon"], result["series_skipped_too_short"]
    print(f"{result['series']} series, horizon {h}, {result['mode']}"
          + (f"; {skipped} series with at most {h} values skipped" if skipped else ""))
    if args.test is None and model.settings.refit:
        print("note: the model was refit on the full training series; if --data is its training file, "
              "the held-out values were seen in training (pass --test, or train on a file without them)")
    print(_table(result))
    if result.get("mase_skipped"):
        print(f"({result['mase_skipped']} series with a flat or too short history have no MASE and are "
              "left out of it)")
    write_json(args.json, result)
    return 0


def _predict(args: argparse.Namespace) -> int:
    from tasks.forecasting import load, predict

    require(args, "model", "data")
    if args.plot is not None and args.series is None:
        raise UsageError("--plot needs --series ID (one plot per series)")
    if args.holdout and args.future is not None:
        raise UsageError("--future is not used with --holdout (the held-out steps' covariates are in --data)")
    model = load(args.model, device=args.device)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        forecasts = predict(model, args.data, args.series, future=args.future, holdout=args.holdout,
                            format=args.format, batch_size=args.batch_size or 1024)
    for warning in caught:
        print(f"minitransformer: warning: {warning.message}", file=sys.stderr)
    sys.stdout.write(_csv_text(forecasts))
    if args.plot is not None:
        from tasks.forecasting.plot import plot_forecasts

        print(f"plot written to {plot_forecasts(args.plot, forecasts)}", file=sys.stderr)
    write_json(args.json, forecasts.to_dict())
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from tasks.forecasting.synthetic import SalesConfig, test_path, write_sales

    require(args, "out")
    if not 0 <= args.holdout < args.weeks:
        raise UsageError(f"--holdout {args.holdout}: expected fewer weeks than --weeks {args.weeks}")
    for target in [args.out] + ([test_path(args.out)] if args.holdout else []):
        if target.exists():
            raise UsageError(f"--out {args.out}: {'' if target == args.out else f'{target} '}already exists; "
                             "simulate never overwrites a file (choose another name)")
    summary = write_sales(args.out, SalesConfig(products=args.products, weeks=args.weeks, seed=args.seed),
                          holdout=args.holdout)
    print(f"{summary['series']} products x {summary['weeks']} weeks written to "
          + " and ".join(summary["files"]))
    return 0


def _csv_text(forecasts) -> str:
    """``series_id,date,forecast[,p10,p90]`` (``step`` 1..H without dates): one row per series and
    step, the P50 first, numbers with 4 decimals; ids with commas or quotes are quoted."""
    from tasks.forecasting.timestamps import format_timestamp

    quantiles, mid = forecasts.quantiles, forecasts.median_index
    others = [k for k, q in enumerate(quantiles) if q != 0.5]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["series_id", "step" if forecasts.dates is None else "date", "forecast"]
                    + [f"p{round(quantiles[k] * 100)}" for k in others])
    for s, series_id in enumerate(forecasts.ids):
        for t, row in enumerate(forecasts.values[s]):                    # row: (Q,)
            when = str(t + 1) if forecasts.dates is None else format_timestamp(forecasts.dates[s][t])
            writer.writerow([series_id, when, f"{row[mid]:.4f}", *(f"{row[k]:.4f}" for k in others)])
    return buffer.getvalue()


def _table(result: dict) -> str:
    keys = ("MAE", "RMSE", "MASE", "sMAPE", "OWA")
    lines = ["| method | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    rows = [("model (median of members)", result)] + list(result["baselines"].items())
    for name, scores in rows:
        lines.append(f"| {name} | " + " | ".join(f"{scores.get(k, float('nan')):.3f}" for k in keys) + " |")
    return "\n".join(lines)
