"""``minitransformer risk train|evaluate|predict|simulate``: fraud and credit-risk detection.

::

    minitransformer risk train    --data PATH.csv --target COLUMN [--positive VALUE]
                                  [--drop COL,...] [--categorical COL,...] [--label-fraction F]
                                  [--cost-fn 5 --cost-fp 1 | --target-precision P]
                                  [--impute median] [--attention manual|sdpa] --out DIR
    minitransformer risk evaluate --model DIR --data PATH.csv [--json FILE]
    minitransformer risk predict  --model DIR --data PATH.csv --output scores.csv [--explain K]
    minitransformer risk simulate --out transactions.csv [--customers N --days D --seed S]

``--target`` may be left out for two known layouts: the public card-fraud CSV
(``Time, V1..V28, Amount, Class``: target ``Class``) and this package's simulator (target
``is_fraud``; ``transaction_id``, ``fraud_scenario``, ``day`` and the customer and terminal ids
are dropped, so the model learns behaviour instead of memorising which terminal was compromised
last month); see :func:`tasks.risk.data.resolve_target`. An ``ID``-like column should be
dropped with ``--drop ID``.

This module only turns options into :class:`~tasks.risk.config.RiskTrainConfig` and keyword
arguments, calls the verbs of :mod:`tasks.risk` and prints.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from minitransformer.cli.options import (
    add_task_actions,
    fraction,
    non_negative_float,
    non_negative_int,
    positive_int,
    require,
    write_json,
)

__all__ = ["HELP", "add_arguments", "run"]

HELP = "fraud and credit-risk detection on tables of transactions"


def _columns(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _add_table_options(train: argparse.ArgumentParser) -> None:
    train.add_argument("--target", metavar="COLUMN", help="the label column (see above for defaults)")
    train.add_argument("--positive", metavar="VALUE", help="the target value meaning fraud/default "
                       "(default: 1 for 0/1 targets, else the rarer value)")
    train.add_argument("--drop", type=_columns, default=[], metavar="COL,...", help="columns to ignore")
    train.add_argument("--categorical", type=_columns, default=[], metavar="COL,...",
                       help="treat these columns as categories even if numeric")
    train.add_argument("--impute", choices=("error", "median"), default="error",
                       help="missing/NaN/inf numbers: stop with an error naming the cell (default), "
                            "or replace them with the training median")
    train.add_argument("--no-history", action="store_true",
                       help="do not group PAY_1..6-style column families into time-step tokens")


def _add_training_options(train: argparse.ArgumentParser) -> None:
    train.add_argument("--label-fraction", type=fraction, metavar="F",
                       help="simulate having labels for a stratified fraction F of the rows only; the "
                            "rest are used unlabelled (pretraining and pseudo-labels)")
    train.add_argument("--valid-fraction", type=fraction, metavar="F",
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
    train.add_argument("--d-model", type=positive_int, metavar="D", help="token width (default 64)")
    train.add_argument("--layers", type=positive_int, metavar="N", help="encoder layers (default 3)")
    train.add_argument("--attention", choices=("manual", "sdpa"), default="manual",
                       help="manual (default): the hand-written attention and layer norm; sdpa: "
                            "PyTorch's fused kernels (the same function, faster)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = add_task_actions(parser, actions=("train", "evaluate", "predict", "simulate"))
    _add_table_options(actions["train"])
    _add_training_options(actions["train"])
    predict = actions["predict"]
    predict.add_argument("--output", type=Path, metavar="FILE", help="scores CSV to write (default stdout)")
    predict.add_argument("--id-column", metavar="COLUMN", help="copy this column into the output")
    predict.add_argument("--explain", type=int, default=0, metavar="K",
                         help="add the K input tokens [CLS] attended to most (mean over heads and layers)")
    simulate = actions["simulate"]
    simulate.add_argument("--customers", type=int, default=500, metavar="N", help="card holders (500)")
    simulate.add_argument("--days", type=int, default=60, metavar="D", help="days simulated (60)")


def _given(args: argparse.Namespace, names: dict[str, str]) -> dict:
    """``{keyword: value}`` of the options that were given (``names``: keyword -> option)."""
    return {key: getattr(args, option) for key, option in names.items() if getattr(args, option) is not None}


def _train_config(args: argparse.Namespace):
    from tasks.risk.config import RiskTrainConfig, risk_encoder

    encoder = risk_encoder(**_given(args, {"d_model": "d_model", "num_layers": "layers"}),
                           attention_backend=args.attention)
    settings = _given(args, {name: name for name in (
        "epochs", "batch_size", "lr", "label_fraction", "valid_fraction", "loss", "pretrain_epochs",
        "pseudo_rounds", "pseudo_labels", "cost_fn", "cost_fp", "target_precision")})
    return RiskTrainConfig(encoder=encoder, **settings)


def _train(args: argparse.Namespace) -> None:
    from tasks.risk import train

    require(args, "data", "out")
    run = train(args.data, args.out, _train_config(args), target=args.target, positive=args.positive,
                drop=args.drop, categorical=args.categorical, impute=args.impute, history=not args.no_history,
                seed=args.seed, device=args.device, max_minutes=args.max_minutes, resume=args.resume)
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
    report = evaluate(load(args.model), args.data)
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


def _write_scores(handle, found) -> None:
    """One CSV row per table row: id, score, flagged[, attended_to]."""
    writer = csv.writer(handle)
    explained = found.reasons is not None
    writer.writerow([found.id_column or "row", "score", "flagged", *(["attended_to"] if explained else [])])
    for i, (key, score, flag) in enumerate(zip(found.ids, found.scores.tolist(), found.flagged.tolist())):
        why = ["; ".join(f"{name} {weight:.2f}" for name, weight in found.reasons[i])] if explained else []
        writer.writerow([key, f"{score:.6f}", int(flag), *why])


def _predict(args: argparse.Namespace) -> None:
    from tasks.risk import load, predict

    require(args, "model", "data")
    found = predict(load(args.model), args.data, explain=args.explain, id_column=args.id_column)
    if args.output:
        with args.output.open("w", newline="", encoding="utf-8") as handle:
            _write_scores(handle, found)
    else:
        _write_scores(sys.stdout, found)
    if found.unknown:
        print(f"unseen categories (scored as unknown): {found.unknown}", file=sys.stderr)
    if args.output:
        print(f"{len(found.scores)} scores written to {args.output} "
              f"({int(found.flagged.sum())} flagged at threshold {found.threshold:.4f})")


def _simulate(args: argparse.Namespace) -> None:
    from tasks.risk.synthetic import SimulatorConfig, write_transactions

    require(args, "out")
    counts = write_transactions(args.out, SimulatorConfig(customers=args.customers, days=args.days,
                                                          seed=args.seed))
    print(f"{counts['rows']} transactions written to {args.out}; fraud by scenario: "
          + ", ".join(f"{k} {v}" for k, v in counts.items() if k != "rows"))


def run(args: argparse.Namespace) -> int | None:
    handlers = {"train": _train, "evaluate": _evaluate, "predict": _predict, "simulate": _simulate}
    handlers[args.action](args)
    return 0
