"""``minitransformer risk train|evaluate|predict|simulate``: fraud and credit-risk detection.

::

    minitransformer risk train    --data PATH.csv --target COLUMN [--positive VALUE]
                                  [--drop COL,...] [--categorical COL,...] [--label-fraction F]
                                  [--cost-fn 5 --cost-fp 1 | --target-precision P]
                                  [--impute median] --out DIR
    minitransformer risk evaluate --model DIR --data PATH.csv [--json FILE]
    minitransformer risk predict  --model DIR --data PATH.csv --output scores.csv [--explain K]
    minitransformer risk simulate --out transactions.csv [--customers N --days D --seed S]

``--target`` may be left out for two known layouts: the public card-fraud CSV
(``Time, V1..V28, Amount, Class``: target ``Class``) and this package's simulator (target
``is_fraud``; ``transaction_id``, ``fraud_scenario``, ``day`` and the customer and terminal ids
are dropped, so the model learns behaviour instead of memorising which terminal was compromised
last month). An ``ID``-like column
should be dropped with ``--drop ID``. This module imports torch only inside :func:`run`.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from minitransformer.cli.options import add_task_actions
from minitransformer.errors import UsageError

__all__ = ["add_arguments", "run"]

_CARD_FRAUD = {"Time", "Amount", "Class", *(f"V{k}" for k in range(1, 29))}
_SIMULATOR_DROP = ["transaction_id", "fraud_scenario", "customer_id", "terminal_id", "day"]


def _columns(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}") from None
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative number, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a non-negative number, got {text!r}")
    return value


HELP = "fraud and credit-risk detection on tables of transactions"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = add_task_actions(parser, actions=("train", "evaluate", "predict", "simulate"))
    train = actions["train"]
    train.add_argument("--target", metavar="COLUMN", help="the label column (see above for defaults)")
    train.add_argument("--positive", metavar="VALUE", help="the target value meaning fraud/default "
                       "(default: 1 for 0/1 targets, else the rarer value)")
    train.add_argument("--drop", type=_columns, default=[], metavar="COL,...", help="columns to ignore")
    train.add_argument("--categorical", type=_columns, default=[], metavar="COL,...",
                       help="treat these columns as categories even if numeric")
    train.add_argument("--impute", choices=("error", "median"), default="error",
                       help="missing/NaN/inf numbers: stop with an error naming the cell (default), "
                            "or replace them with the training median")
    train.add_argument("--label-fraction", type=_fraction, default=1.0, metavar="F",
                       help="simulate having labels for a stratified fraction F of the rows only; the "
                            "rest are used unlabelled (pretraining and pseudo-labels)")
    train.add_argument("--valid-fraction", type=_fraction, default=0.15, metavar="F",
                       help="share of the labelled rows held out for early stopping and the threshold")
    train.add_argument("--cost-fn", type=_non_negative, metavar="X", help="cost of a missed positive")
    train.add_argument("--cost-fp", type=_non_negative, metavar="X", help="cost of a false alarm")
    train.add_argument("--target-precision", type=_fraction, metavar="P",
                       help="choose the threshold with the most recall at precision >= P")
    train.add_argument("--loss", choices=("bce", "balanced", "focal"), default="bce",
                       help="bce (default), class-weighted bce, or focal loss")
    train.add_argument("--pretrain-epochs", type=int, metavar="N",
                       help="masked-feature pretraining epochs (default 30 with unlabelled rows, else 0)")
    train.add_argument("--pseudo-rounds", type=int, metavar="N",
                       help="pseudo-labelling rounds (default 2 with unlabelled rows, else 0)")
    train.add_argument("--pseudo-labels", choices=("soft", "hard"), default="soft",
                       help="soft (default): every unlabelled row with the teacher's probability as "
                            "its target; hard: the most confident 30%% as 0/1 labels")
    train.add_argument("--no-history", action="store_true",
                       help="do not group PAY_1..6-style column families into time-step tokens")
    train.add_argument("--d-model", type=int, default=64, metavar="D", help="token width (default 64)")
    train.add_argument("--layers", type=int, default=3, metavar="N", help="encoder layers (default 3)")
    predict = actions["predict"]
    predict.add_argument("--output", type=Path, metavar="FILE", help="scores CSV to write (default stdout)")
    predict.add_argument("--id-column", metavar="COLUMN", help="copy this column into the output")
    predict.add_argument("--explain", type=int, default=0, metavar="K",
                         help="add the K input tokens [CLS] attended to most (mean over heads and layers)")
    simulate = actions["simulate"]
    simulate.add_argument("--customers", type=int, default=500, metavar="N", help="card holders (500)")
    simulate.add_argument("--days", type=int, default=60, metavar="D", help="days simulated (60)")


def _require(args: argparse.Namespace, *names: str) -> None:
    for name in names:
        if getattr(args, name, None) is None:
            raise UsageError(f"risk {args.action}: --{name.replace('_', '-')} is required")


def _train(args: argparse.Namespace) -> None:
    from tasks.risk.data import read_table
    from tasks.risk.train import RiskSettings, train_risk_model

    _require(args, "data", "out")
    table = read_table(args.data)
    target, drop = args.target, list(args.drop)
    if target is None:
        if _CARD_FRAUD <= set(table.columns):
            target = "Class"
        elif {"is_fraud", "fraud_scenario"} <= set(table.columns):
            target = "is_fraud"
            drop += [c for c in _SIMULATOR_DROP if c in table.columns and c not in drop]
        else:
            raise UsageError(f"risk train: --target is required; columns found: {', '.join(table.columns)}")
    if args.target_precision is not None and args.cost_fn is not None:
        raise UsageError("risk train: give --cost-fn/--cost-fp or --target-precision, not both")
    settings = RiskSettings(
        target=target, positive=args.positive, drop=drop, categorical=args.categorical, impute=args.impute,
        history=not args.no_history, label_fraction=args.label_fraction, valid_fraction=args.valid_fraction,
        epochs=args.epochs or 30, batch_size=args.batch_size or 256, lr=args.lr or 3e-4,
        d_model=args.d_model, num_layers=args.layers, loss=args.loss, pretrain_epochs=args.pretrain_epochs,
        pseudo_rounds=args.pseudo_rounds, pseudo_labels=args.pseudo_labels, cost_fn=args.cost_fn,
        cost_fp=args.cost_fp,
        target_precision=args.target_precision, seed=args.seed, device=args.device,
        max_minutes=args.max_minutes)
    info = train_risk_model(table, settings, args.out, resume=args.resume)
    valid, base = info["valid"], info["baselines_valid"]
    print(f"validation: ROC-AUC {valid['roc_auc']:.4f}  AUPRC {valid['auprc']:.4f}  "
          f"(logistic regression {base['logistic_regression']['roc_auc']:.4f} / "
          f"{base['logistic_regression']['auprc']:.4f}; prior AUPRC {base['class_prior']['auprc']:.4f})")
    print(f"model written to {args.out} ({info['train_seconds']:.0f} s)")
    if args.json:
        _write_json(args.json, info)


def _write_json(target: str, data: dict) -> None:
    text = json.dumps(data, indent=2) + "\n"
    if target == "-":
        sys.stdout.write(text)
    else:
        Path(target).write_text(text, encoding="utf-8")


def _evaluate(args: argparse.Namespace) -> None:
    from tasks.risk.data import read_table
    from tasks.risk.evaluate import evaluate_table, load_run

    _require(args, "model", "data")
    run = load_run(args.model)
    report = evaluate_table(run, read_table(args.data))
    base = report["baselines"]
    print(f"{'model':<22} {'ROC-AUC':>8} {'AUPRC':>8}")
    print(f"{'transformer':<22} {report['roc_auc']:8.4f} {report['auprc']:8.4f}")
    for name, values in base.items():
        print(f"{name:<22} {values['roc_auc']:8.4f} {values['auprc']:8.4f}")
    print(f"at threshold {report['threshold']:.4f}: precision {report['precision']:.4f} "
          f"recall {report['recall']:.4f} F1 {report['f1']:.4f}"
          + (f" cost/row {report['cost']:.4f}" if "cost" in report else ""))
    for name, recall in report.get("scenario_recall", {}).items():
        print(f"recall on scenario {name}: {recall:.4f}")
    if report["unknown_categories"]:
        print(f"unseen categories (scored as unknown): {report['unknown_categories']}")
    if args.json:
        _write_json(args.json, report)


def _predict(args: argparse.Namespace) -> None:
    from tasks.risk.data import read_table
    from tasks.risk.evaluate import load_run

    _require(args, "model", "data")
    run = load_run(args.model)
    table = read_table(args.data)
    data = run.encode(table, require_target=False)
    scores = run.score(data)
    id_column = args.id_column
    if id_column is not None and id_column not in table.columns:
        raise UsageError(f"--id-column {id_column!r}: not a column of {args.data}")
    ids = table.column(id_column) if id_column else [str(i + 1) for i in range(len(scores))]
    if args.explain < 0:
        raise UsageError(f"--explain: expected a non-negative number of tokens, got {args.explain}")
    explanations = run.explain(data, args.explain) if args.explain else None
    handle = args.output.open("w", newline="", encoding="utf-8") if args.output else sys.stdout
    try:
        writer = csv.writer(handle)
        writer.writerow([id_column or "row", "score", "flagged", *(["attended_to"] if explanations else [])])
        for i, (key, score) in enumerate(zip(ids, scores.tolist())):
            why = [] if explanations is None else [
                "; ".join(f"{name} {weight:.2f}" for name, weight in explanations[i])]
            writer.writerow([key, f"{score:.6f}", int(score >= run.threshold), *why])
    finally:
        if args.output:
            handle.close()
    if data.unknown:
        print(f"unseen categories (scored as unknown): {data.unknown}", file=sys.stderr)
    if args.output:
        print(f"{len(scores)} scores written to {args.output} "
              f"({int((scores >= run.threshold).sum())} flagged at threshold {run.threshold:.4f})")


def _simulate(args: argparse.Namespace) -> None:
    from tasks.risk.simulate import SimulatorConfig, write_transactions

    _require(args, "out")
    counts = write_transactions(args.out, SimulatorConfig(customers=args.customers, days=args.days,
                                                          seed=args.seed))
    print(f"{counts['rows']} transactions written to {args.out}; fraud by scenario: "
          + ", ".join(f"{k} {v}" for k, v in counts.items() if k != "rows"))


def run(args: argparse.Namespace) -> int | None:
    handlers = {"train": _train, "evaluate": _evaluate, "predict": _predict, "simulate": _simulate}
    handlers[args.action](args)
    return 0
