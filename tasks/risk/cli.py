"""``minitransformer risk train|evaluate|predict|simulate``: fraud and credit-risk detection.

::

    minitransformer risk train    --data PATH.csv --target COLUMN [--positive VALUE]
                                  [--drop COL,...] [--categorical COL,...] [--time COL,...] [--keep COL,...]
                                  [--label-fraction F] [--cost-fn 5 --cost-fp 1 | --target-precision P]
                                  [--impute median] [--attention manual|sdpa] --out DIR
    minitransformer risk evaluate --model DIR --data PATH.csv [--json FILE]
    minitransformer risk predict  --model DIR --data PATH.csv [--output scores.csv] [--explain K]
    minitransformer risk simulate --out transactions.csv [--customers N --days D --seed S]

``--target`` may be left out for two known layouts: the public card-fraud CSV
(``Time, V1..V28, Amount, Class``: target ``Class``) and this package's simulator (target
``is_fraud``; ``transaction_id``, ``fraud_scenario``, ``day`` and the customer and terminal ids
are dropped, so the model learns behaviour instead of memorising which terminal was compromised
last month); see :func:`tasks.risk.data.resolve_target`. A column that looks like an id (a
different value in every row, see :mod:`tasks.risk.columns`) is left out with a warning.

Every check runs before the first write: a refused ``train`` leaves ``--out`` as it was;
``predict --output`` and ``--json`` refuse to overwrite the input file or a file of the model
folder; ``simulate`` refuses to overwrite an existing file. There is no ``--resume``: a risk
training is several trainings in a row (pretraining, teachers, students), which cannot be
continued half-way.

This module only turns options into :class:`~tasks.risk.config.RiskTrainConfig` and keyword
arguments, calls the verbs of :mod:`tasks.risk` and prints.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

from minitransformer.cli.options import (
    TRAIN_OPTIONS,
    USE_OPTIONS,
    add_common_options,
    add_task_actions,
    fraction,
    non_negative_float,
    non_negative_int,
    number,
    require,
    write_json,
)
from minitransformer.errors import UsageError

__all__ = ["HELP", "add_arguments", "run"]

HELP = "fraud and credit-risk detection on tables of transactions"
DATA_PAGE = "docs/tasks/risk.md, section 'Your own data'"
DESCRIPTIONS = {
    "train": "Train a risk model (FT-Transformer) and its baselines. Reads a CSV with a header, one row per "
             "transaction or customer, a target column (--target) and feature columns: numbers, categories "
             "and times (ISO-8601 or Unix seconds); columns that look like ids are left out. Writes a new "
             f"model folder (--out). See {DATA_PAGE}.",
    "evaluate": "Score a trained model beside its baselines (ROC-AUC, AUPRC, precision, recall, F1 at the "
                "model's threshold). Reads a CSV with the columns the model was trained with, the target "
                f"among them, holding both classes; see {DATA_PAGE}.",
    "predict": "Score every row of a CSV with the columns the model was trained with (the target may be "
               "absent): writes row (or --id-column),score,flagged[,attended_to] as CSV to --output or "
               f"stdout; see {DATA_PAGE}.",
    "simulate": "Write the built-in seeded card transactions with planted fraud to a new CSV file.",
}
_ALL_OPTIONS = set(TRAIN_OPTIONS)
_VALID_FRACTION = number(float, 0.0, 1.0 - 1e-9, low_open=True, description="a number in (0, 1)")
_D_MODEL = number(int, 1, 4096, description="an integer from 1 to 4096")
_LAYERS = number(int, 1, 64, description="an integer from 1 to 64")
_SEED = number(int, 0, 2**32 - 1, description="an integer from 0 to 4294967295")
MAX_CUSTOMERS, MAX_DAYS = 10_000, 1_000      # as tasks.risk.synthetic.SimulatorConfig allows


def _columns(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _add_table_options(train: argparse.ArgumentParser) -> None:
    train.add_argument("--target", metavar="COLUMN",
                       help="the label column (may be left out for the public card-fraud CSV and for files "
                            "written by 'risk simulate')")
    train.add_argument("--positive", metavar="VALUE", help="the target value meaning fraud/default "
                       "(default: 1 for 0/1 targets, else the rarer value)")
    train.add_argument("--drop", type=_columns, default=[], metavar="COL,...", help="columns to ignore")
    train.add_argument("--categorical", type=_columns, default=[], metavar="COL,...",
                       help="treat these columns as categories even if numeric")
    train.add_argument("--time", dest="time_columns", type=_columns, default=[], metavar="COL,...",
                       help="columns holding times: ISO-8601 or Unix seconds (ISO-8601 columns are found "
                            "without it); their hour of day and weekday become features")
    train.add_argument("--keep", type=_columns, default=[], metavar="COL,...",
                       help="use these columns as features even if they look like ids")
    train.add_argument("--impute", choices=("error", "median"), default="error",
                       help="missing/NaN/inf numbers and empty times: stop with an error naming the line and "
                            "the column (default), or replace them with the training median")
    train.add_argument("--no-history", action="store_true",
                       help="do not group PAY_1..6-style column families into time-step tokens")


def _add_training_options(train: argparse.ArgumentParser) -> None:
    train.add_argument("--label-fraction", type=fraction, metavar="F",
                       help="simulate having labels for a stratified fraction F of the rows only; the "
                            "rest are used unlabelled (pretraining and pseudo-labels)")
    train.add_argument("--valid-fraction", type=_VALID_FRACTION, metavar="F",
                       help="share of the labelled rows held out for early stopping and the threshold "
                            "(default 0.15)")
    train.add_argument("--cost-fn", type=non_negative_float, metavar="X", help="cost of a missed positive")
    train.add_argument("--cost-fp", type=non_negative_float, metavar="X", help="cost of a false alarm")
    train.add_argument("--target-precision", type=fraction, metavar="P",
                       help="choose the threshold with the most recall at precision >= P")
    train.add_argument("--loss", choices=("bce", "balanced", "focal"),
                       help="bce (default), class-weighted bce, or focal loss")
    train.add_argument("--pretrain-epochs", type=non_negative_int, metavar="N",
                       help="masked-feature pretraining epochs (default 30 with unlabelled rows, else 0)")
    train.add_argument("--pseudo-rounds", type=non_negative_int, metavar="N",
                       help="pseudo-labelling rounds (default 2 with unlabelled rows, else 0)")
    train.add_argument("--pseudo-labels", choices=("soft", "hard"),
                       help="soft (default): every unlabelled row with the teacher's probability as "
                            "its target; hard: the most confident 30%% as 0/1 labels")
    train.add_argument("--d-model", type=_D_MODEL, metavar="D",
                       help="token width, a multiple of the 8 attention heads (default 64)")
    train.add_argument("--layers", type=_LAYERS, metavar="N", help="encoder layers (default 3)")
    train.add_argument("--attention", choices=("manual", "sdpa"), default="manual",
                       help="manual (default): the hand-written attention and layer norm; sdpa: "
                            "PyTorch's fused kernels (the same function, faster)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = add_task_actions(parser, actions=("train", "evaluate", "predict", "simulate"), common=False)
    for action, text in DESCRIPTIONS.items():
        actions[action].description = text
    # train always starts a new model (no --model) and cannot resume (no --resume)
    add_common_options(actions["train"], skip=_ALL_OPTIONS - set(TRAIN_OPTIONS) | {"model", "resume", "seed"})
    for action in ("evaluate", "predict"):
        add_common_options(actions[action], skip=_ALL_OPTIONS - set(USE_OPTIONS))
    actions["train"].add_argument("--seed", type=_SEED, default=0, metavar="N",
                                  help="random seed: the splits, the weights, the data order (default 0)")
    _add_table_options(actions["train"])
    _add_training_options(actions["train"])
    predict = actions["predict"]
    predict.add_argument("--output", type=Path, metavar="FILE", help="scores CSV to write (default stdout)")
    predict.add_argument("--id-column", metavar="COLUMN", help="copy this column into the output")
    predict.add_argument("--explain", type=non_negative_int, default=0, metavar="K",
                         help="add the K input tokens [CLS] attended to most (mean over heads and layers)")
    simulate = actions["simulate"]
    customers = number(int, 2, MAX_CUSTOMERS, description=f"an integer from 2 to {MAX_CUSTOMERS}")
    simulate.add_argument("--customers", type=customers, default=500, metavar="N",
                          help="card holders (default 500)")
    days = number(int, 1, MAX_DAYS, description=f"an integer from 1 to {MAX_DAYS}")
    simulate.add_argument("--days", type=days, default=60, metavar="D", help="days simulated (default 60)")


def _given(args: argparse.Namespace, names: dict[str, str]) -> dict:
    """``{keyword: value}`` of the options that were given (``names``: keyword -> option)."""
    return {key: getattr(args, option) for key, option in names.items() if getattr(args, option) is not None}


def _train_config(args: argparse.Namespace):
    from tasks.risk.config import RiskTrainConfig, risk_encoder

    sizes = _given(args, {"d_model": "d_model", "num_layers": "layers"})
    try:
        encoder = risk_encoder(**sizes, attention_backend=args.attention)
    except ValueError:
        raise UsageError(f"--d-model {args.d_model}: expected a multiple of the 8 attention heads") from None
    settings = _given(args, {name: name for name in (
        "epochs", "batch_size", "lr", "label_fraction", "valid_fraction", "loss", "pretrain_epochs",
        "pseudo_rounds", "pseudo_labels", "cost_fn", "cost_fp", "target_precision")})
    return RiskTrainConfig(encoder=encoder, **settings)


def _refuse_overwrite(target: str | Path | None, option: str, data: Path | None,
                      model: Path | None = None) -> None:
    """``--output``/``--json FILE`` may not replace the input file or a file of the model folder
    (checked before any work, so a typo cannot destroy data)."""
    if target is None or str(target) == "-":
        return
    target = Path(target)
    if target.is_dir():
        raise UsageError(f"{option} {target}: expected a file, got a folder")
    if not target.exists():
        return
    if data is not None and data.exists() and target.resolve() == data.resolve():
        raise UsageError(f"{option} {target}: that is the input file (--data); choose another file")
    if model is not None and model.is_dir() and target.resolve().parent == model.resolve():
        raise UsageError(f"{option} {target}: a file of the model folder (--model); choose another file")


def _train(args: argparse.Namespace) -> None:
    from tasks.risk import train

    require(args, "data", "out")
    _refuse_overwrite(args.json, "--json", args.data)
    run = train(args.data, args.out, _train_config(args), target=args.target, positive=args.positive,
                drop=args.drop, categorical=args.categorical, impute=args.impute, history=not args.no_history,
                time_columns=args.time_columns, keep=args.keep, seed=args.seed, device=args.device,
                max_minutes=args.max_minutes)
    info = run.model.info
    valid, base = run.metrics, info["baselines_valid"]
    print(f"validation: ROC-AUC {valid['roc_auc']:.4f}  AUPRC {valid['auprc']:.4f}  "
          f"(logistic regression {base['logistic_regression']['roc_auc']:.4f} / "
          f"{base['logistic_regression']['auprc']:.4f}; prior AUPRC {base['class_prior']['auprc']:.4f})")
    print(f"model written to {args.out} ({run.seconds:.0f} s)")
    write_json(args.json, info)


def _evaluate(args: argparse.Namespace) -> None:
    from tasks.risk import evaluate, load

    require(args, "model", "data")
    _refuse_overwrite(args.json, "--json", args.data, args.model)
    report = evaluate(load(args.model), args.data, batch_size=args.batch_size or 2048)
    print(f"{'model':<22} {'ROC-AUC':>8} {'AUPRC':>8}")
    print(f"{'transformer':<22} {report['roc_auc']:8.4f} {report['auprc']:8.4f}")
    for name, values in report["baselines"].items():
        print(f"{name:<22} {values['roc_auc']:8.4f} {values['auprc']:8.4f}")
    print(f"at threshold {report['threshold']:.4f}: precision {report['precision']:.4f} "
          f"recall {report['recall']:.4f} F1 {report['f1']:.4f}"
          + (f" cost/row {report['cost']:.4f}" if "cost" in report else ""))
    for name, recall in report.get("scenario_recall", {}).items():
        print(f"recall on scenario {name}: {recall:.4f}")
    if report["unknown_categories"]:
        print(f"unseen categories (scored as unknown): {report['unknown_categories']}")
    write_json(args.json, report)


def _scores_csv(found) -> str:
    """One CSV row per table row: id, score, flagged[, attended_to]."""
    handle = io.StringIO()
    writer = csv.writer(handle)
    explained = found.reasons is not None
    writer.writerow([found.id_column or "row", "score", "flagged", *(["attended_to"] if explained else [])])
    for i, (key, score, flag) in enumerate(zip(found.ids, found.scores.tolist(), found.flagged.tolist())):
        why = ["; ".join(f"{name} {weight:.2f}" for name, weight in found.reasons[i])] if explained else []
        writer.writerow([key, f"{score:.6f}", int(flag), *why])
    return handle.getvalue()


def _predict(args: argparse.Namespace) -> None:
    from minitransformer.nn.io import atomic_write_text
    from tasks.risk import load, predict

    require(args, "model", "data")
    _refuse_overwrite(args.output, "--output", args.data, args.model)
    _refuse_overwrite(args.json, "--json", args.data, args.model)
    found = predict(load(args.model), args.data, explain=args.explain, id_column=args.id_column,
                    batch_size=args.batch_size or 2048)
    text = _scores_csv(found)
    if args.output:
        atomic_write_text(args.output, text)     # written whole, or not at all
    else:
        sys.stdout.write(text)
    if found.unknown:
        print(f"unseen categories (scored as unknown): {found.unknown}", file=sys.stderr)
    summary = {"rows": len(found.scores), "flagged": int(found.flagged.sum()), "threshold": found.threshold,
               "unknown_categories": found.unknown, "output": str(args.output) if args.output else None}
    if args.output:
        print(f"{summary['rows']} scores written to {args.output} "
              f"({summary['flagged']} flagged at threshold {found.threshold:.4f})")
    write_json(args.json, summary)


def _simulate(args: argparse.Namespace) -> None:
    from tasks.risk.synthetic import SimulatorConfig, write_transactions

    require(args, "out")
    if args.out.exists():
        kind = "a folder" if args.out.is_dir() else "a file that already exists"
        raise UsageError(f"--out {args.out}: {kind}; choose a new file (simulate never overwrites one)")
    counts = write_transactions(args.out, SimulatorConfig(customers=args.customers, days=args.days,
                                                          seed=args.seed))
    print(f"{counts['rows']} transactions written to {args.out}; fraud by scenario: "
          + ", ".join(f"{k} {v}" for k, v in counts.items() if k != "rows"))


def run(args: argparse.Namespace) -> int | None:
    handlers = {"train": _train, "evaluate": _evaluate, "predict": _predict, "simulate": _simulate}
    handlers[args.action](args)
    return 0
