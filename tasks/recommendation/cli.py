"""``minitransformer recommend train|evaluate|predict|simulate`` (the task-module protocol of
:mod:`minitransformer.cli.main`).

    minitransformer recommend train    --data PATH [--format auto] [--model sasrec|bert4rec] --out DIR
                                        [--max-len 50] [--epochs N] [--max-minutes M] [--seed S]
    minitransformer recommend evaluate --model DIR --data PATH [--protocol full|sampled]
                                        [--split test|valid] [--json FILE]
    minitransformer recommend predict  --model DIR --history "ITEM ITEM ..." [--k 10]
    minitransformer recommend simulate --out FILE.csv [--users N] [--items M] [--seed S]

``simulate`` writes a shop's purchase log with planted patterns (shoppers' tastes, bundles
such as ``phone -> case -> charger``; see :mod:`tasks.recommendation.synthetic`) in the ``csv``
format that ``train`` reads, to a new file (an existing one is refused).

Each action lists only its own options (``evaluate`` and ``predict`` have no training options);
``train --resume DIR`` continues an interrupted run in ``DIR`` (``--out`` defaults to it). Every
value is range-checked by argparse before any work, and the verbs check everything else (the
data, the model's size, ``--out``) before anything is written.

This module only reads the options: it turns them into a
:class:`~tasks.recommendation.config.RecommenderConfig` and
:class:`~tasks.recommendation.config.TrainSettings` (an option left out takes the default for
the data's format, size and the model, :func:`~tasks.recommendation.config.training_defaults`
and :func:`~tasks.recommendation.config.default_settings`), calls
the head's verbs (``train``, ``load``, ``evaluate``, ``predict``) and prints what they return.

A model directory holds the trainer's files (``config.json``, ``model.safetensors`` = the model
after the final fit, or the best validation epoch without one, ``metrics.jsonl``,
``checkpoints/``, and ``final_fit/`` with the final fit's own log and checkpoints) plus
``item_map.json`` (raw item id of every model item id) and, with the transition prior,
``transitions.safetensors`` (its counts). Every printed metric names its
protocol. Torch is imported only inside the functions, so ``minitransformer --help`` stays fast.
"""

from __future__ import annotations

import argparse
import math
import sys

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

__all__ = ["HELP", "MODEL_FILE", "add_arguments", "run", "attention_views"]

HELP = "next-item recommendation from interaction sequences"
#: a file only this head writes into a model folder (``minitransformer plot attention`` finds it)
MODEL_FILE = "item_map.json"
#: where the data layouts are described, for the help texts
DATA_PAGE = "docs/tasks/recommendation.md, section 'Your own data'"
DESCRIPTIONS = {
    "train": "Train a next-item recommender (SASRec or BERT4Rec) and save it in --out. Reads a CSV "
             "with columns user_id,item_id,timestamp (Unix seconds or ISO-8601 times), a "
             "whitespace-separated file ('user item item ...' or 'user item' per line) or the ml1m "
             f"folder; see {DATA_PAGE}.",
    "evaluate": "Score a trained recommender on the test (or validation) items of an interaction file, "
                "beside the most-popular and item-to-item baselines. Reads the layouts train reads; "
                f"see {DATA_PAGE}.",
    "predict": "The top-k next items for one shopper's history of item ids, and the history items the "
               "model attended to.",
    "simulate": "Write the built-in seeded shop's purchase log (user_id,item_id,category,timestamp) "
                "to a new CSV file.",
}
_ALL_OPTIONS = set(TRAIN_OPTIONS)
probability = number(float, 0.0, 1.0, description="a number in [0, 1]")
BELOW_ONE = math.nextafter(1.0, 0.0)  # the largest float below 1: an open upper bound
open_probability = number(float, 0.0, BELOW_ONE, low_open=True, description="a number in (0, 1)")
dropout = number(float, 0.0, BELOW_ONE, description="a number in [0, 1)")


def attention_views(model_dir, text):
    """The attention maps of the model in ``model_dir`` on one input (see ``plot.py``)."""
    from tasks.recommendation.plot import attention_views as views

    return views(model_dir, text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = add_task_actions(parser, actions=("train", "evaluate", "predict", "simulate"), common=False)
    for action, text in DESCRIPTIONS.items():
        actions[action].description = text
    _train_options(actions["train"])
    _evaluate_options(actions["evaluate"])
    _predict_options(actions["predict"])
    simulate = actions["simulate"]
    simulate.add_argument("--users", type=number(int, 1, 1_000_000, description="an integer in [1, 1000000]"),
                          default=4000, metavar="N", help="shoppers (default 4000)")
    simulate.add_argument("--items", type=number(int, 1, 100_000, description="an integer in [1, 100000]"),
                          default=240, metavar="M",
                          help="about this many items, in 24 categories (default 240)")


def _format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("auto", "sequence", "pairs", "csv", "ml1m"), default="auto",
                        help="data layout (default auto: detected from the file)")


def _train_options(train: argparse.ArgumentParser) -> None:
    # the common training options, but --model names the architecture here (not a model folder)
    add_common_options(train, skip=_ALL_OPTIONS - set(TRAIN_OPTIONS) | {"model"})
    train.add_argument("--model", choices=("sasrec", "bert4rec"), default="sasrec",
                       help="architecture: causal SASRec (default) or bidirectional BERT4Rec")
    _format_option(train)
    train.add_argument("--max-len", type=number(int, 2, description="an integer >= 2"), metavar="N",
                       help="most recent items the model sees (default 50; 200 for ml1m)")
    train.add_argument("--loss", choices=("ce", "bce", "gbce"), default="ce",
                       help="full-softmax cross-entropy (default), sampled BCE, or gBCE")
    train.add_argument("--negatives", type=positive_int, default=256, metavar="N",
                       help="negatives per position for gbce (default 256)")
    train.add_argument("--prior-items", type=non_negative_int, metavar="N",
                       help="the item-to-item counts of the last N items mixed into the scores "
                            "(default 3 for sasrec; 0, the Transformer alone, for bert4rec and ml1m)")
    train.add_argument("--d-model", type=positive_int, default=64, metavar="D",
                       help="model width (default 64)")
    train.add_argument("--layers", type=positive_int, default=2, metavar="N",
                       help="encoder layers (default 2)")
    train.add_argument("--heads", type=positive_int, default=1, metavar="H",
                       help="attention heads, dividing --d-model (default 1)")
    train.add_argument("--dropout", type=dropout, metavar="P",
                       help="default 0.3 (sasrec; 0.2 for ml1m), 0.1 (bert4rec)")
    train.add_argument("--max-tokens", type=positive_int, default=6400, metavar="N",
                       help="at most this many item positions per batch (default 6400 = 128 x 50)")
    train.add_argument("--mask-prob", type=open_probability, default=0.2, metavar="P",
                       help="BERT4Rec: share of items masked (default 0.2)")
    train.add_argument("--last-item-prob", type=probability, default=0.5, metavar="P",
                       help="BERT4Rec: share of examples that are a history cut at a random item, "
                            "that item masked (default 0.5)")
    train.add_argument("--patience", type=positive_int, metavar="N",
                       help="epochs without validation gain before stopping (default 8; BERT4Rec 16; "
                            "20 for ml1m)")
    train.add_argument("--final-epochs", type=non_negative_int, metavar="N",
                       help="after early stopping, N epochs with each user's validation item put "
                            "back into training (default 5; 0 for ml1m; 0 = keep the "
                            "validation-best model)")
    train.add_argument("--eval-users", type=positive_int, default=3000, metavar="N",
                       help="validation users scored each epoch, a seeded sample (default 3000)")
    train.add_argument("--attention-backend", choices=("manual", "sdpa"), default="manual")


def _evaluate_options(evaluate: argparse.ArgumentParser) -> None:
    add_common_options(evaluate, skip=_ALL_OPTIONS - set(USE_OPTIONS))
    _format_option(evaluate)
    evaluate.add_argument("--protocol", choices=("full", "sampled"), default="full",
                          help="rank against every item (default) or against sampled negatives")
    evaluate.add_argument("--split", choices=("test", "valid"), default="test",
                          help="each user's last item (default) or the one before")
    evaluate.add_argument("--negatives", type=positive_int, default=100, metavar="N",
                          help="sampled protocol: negatives per user (default 100)")
    evaluate.add_argument("--sampling", choices=("uniform", "popularity"), default="uniform",
                          help="sampled protocol: how negatives are drawn (default uniform)")
    evaluate.add_argument("--no-baselines", action="store_true", help="skip the baseline rows")


def _predict_options(predict: argparse.ArgumentParser) -> None:
    # a history on the command line: no --data, and nothing to batch or to seed
    add_common_options(predict, skip=_ALL_OPTIONS - set(USE_OPTIONS) | {"data", "batch_size", "seed"})
    predict.add_argument("--history", required=True, help='raw item ids, oldest first: "ITEM ITEM ..."')
    predict.add_argument("--k", type=positive_int, default=10,
                         help="how many items to recommend (default 10)")
    predict.add_argument("--include-history", action="store_true", help="allow items already in the history")


def run(args: argparse.Namespace) -> int | None:
    return {"train": _train, "evaluate": _evaluate, "predict": _predict,
            "simulate": _simulate}[args.action](args)


# ---------------------------------------------------------------------------- options -> settings
def _recipe(args: argparse.Namespace, split):
    """The model config and training settings of ``recommend train``'s options; an option left
    out takes the default for the data's format and size (``split``) and the model."""
    from dataclasses import replace

    from tasks.recommendation.config import default_config, default_settings, encoder_config, epoch_cost

    config = default_config(split.format, args.model)
    max_len = config.max_len if args.max_len is None else args.max_len
    settings = default_settings(split.format, args.model, epoch_cost(split.train, split.num_items, max_len))
    encoder = encoder_config(d_model=args.d_model, nhead=args.heads, num_layers=args.layers,
                             dropout=config.encoder.dropout if args.dropout is None else args.dropout,
                             attention_backend=args.attention_backend)
    config = replace(config, max_len=config.max_len if args.max_len is None else args.max_len,
                     encoder=encoder, prior_items=(config.prior_items if args.prior_items is None
                                                   else args.prior_items))
    settings = replace(settings, loss=args.loss, negatives=args.negatives,
                       batch_size=settings.batch_size if args.batch_size is None else args.batch_size,
                       max_tokens=args.max_tokens,
                       mask_prob=args.mask_prob, last_item_prob=args.last_item_prob,
                       eval_users=args.eval_users,
                       epochs=settings.epochs if args.epochs is None else args.epochs,
                       lr=settings.lr if args.lr is None else args.lr,
                       patience=settings.patience if args.patience is None else args.patience,
                       final_epochs=settings.final_epochs if args.final_epochs is None else args.final_epochs)
    return config, settings


# ---------------------------------------------------------------------------- printing
def print_table(results: dict[str, dict], title: str) -> None:
    from tasks.recommendation.evaluate import TABLE_HEADER, table_rows

    print(f"\n{title}\n")
    print("\n".join([*TABLE_HEADER, *table_rows(results)]))


def _print_fit(metrics: dict) -> None:
    """The training summary: the main fit's epochs, speed and best epoch, then the final fit."""
    fit, final = metrics["fit"], metrics["final_fit"]
    examples = metrics["examples"] * max(fit["epochs_run"], 1)
    best = "" if fit["best_metric"] is None else f" (valid NDCG@10 {fit['best_metric']:.4f})"
    print(f"\ntrained {fit['epochs_run']} epochs in {fit['elapsed_s']:.0f} s "
          f"({examples / max(fit['elapsed_s'], 1e-9):.0f} sequences/s incl. validation), "
          f"best epoch {fit['best_epoch']}{best}, stop: {fit['stop_reason']}")
    mix = metrics.get("mix")
    if mix is not None:
        parts = mix["valid_NDCG@10"]
        print(f"mix fitted on {mix['users']} validation users: λ {mix['lambda']:.3f} x Transformer + "
              f"counts; valid NDCG@10: Transformer {parts['transformer']:.4f}, counts "
              f"{parts['prior']:.4f}, mixed {parts['mixed']:.4f} ({mix['seconds']:.0f} s)")
    if final is not None:
        print(f"final fit: {final['epochs_run']} more epochs ({final['steps']} updates, stop: "
              f"{final['stop_reason']}) with the validation items put back in {final['elapsed_s']:.0f} s "
              "(validation scores above are from before it)")


# ---------------------------------------------------------------------------- actions
def _train(args) -> int:
    from tasks.recommendation import evaluate, train
    from tasks.recommendation.data import load_split

    if args.out is None and args.resume is not None:
        args.out = args.resume  # --resume DIR continues the run in DIR
    require(args, "data", "out")
    if args.d_model % args.heads:
        raise UsageError(f"--heads {args.heads}: must divide --d-model {args.d_model}")
    split = load_split(args.data, args.format)
    config, settings = _recipe(args, split)
    print(f"data: {args.data} ({split.format}): {len(split.train)} training sequences, "
          f"{split.num_items} items, {len(split.valid)} valid / {len(split.test)} test users")
    run = train(split, args.out, config, model=args.model, settings=settings, seed=args.seed,
                device=args.device, max_minutes=args.max_minutes, resume=args.resume)
    _print_fit(run.metrics)
    results = evaluate(run.model, split) if len(split.test) else {}
    print_table(results, f"test split ({len(split.test)} users), trained model vs baselines")
    write_json(args.json, {"fit": run.metrics["fit"], "final_fit": run.metrics["final_fit"],
                           "mix": run.metrics["mix"], "test": results, "model_dir": str(args.out)})
    return 0


def _evaluate(args) -> int:
    from tasks.recommendation import evaluate, load
    from tasks.recommendation.train import FINAL_FIT_DIR

    require(args, "model", "data")
    model = load(args.model)
    if args.split == "valid" and (args.model / FINAL_FIT_DIR).is_dir():
        print(f"minitransformer: warning: {args.model} had a final fit on the validation items "
              "(--final-epochs): its validation scores are not held-out scores", file=sys.stderr)
    results = evaluate(model, args.data, protocol=args.protocol, split=args.split, negatives=args.negatives,
                       sampling=args.sampling, baselines=not args.no_baselines, format=args.format,
                       seed=args.seed, batch_size=args.batch_size or 256)
    print_table(results, f"{args.split} split of {args.data}")
    (name, report), *others = results.items()
    parts = {key: value for key, value in others if key.startswith(f"{name}: ")}  # the prior's parts alone
    baselines = {key: value for key, value in others if key not in parts}
    write_json(args.json, {**report, "split": args.split, "model": name, "baselines": baselines,
                           **({"parts": parts} if parts else {})})
    return 0


def _predict(args) -> int:
    from tasks.recommendation import load, predict
    from tasks.recommendation.predict import attended_items

    require(args, "model")
    tokens = args.history.split()
    if not tokens:
        raise UsageError(f"--history: expected item ids separated by spaces, got {args.history!r}")
    model = load(args.model)
    known, unknown = model.item_map.encode(tokens)
    if not known:
        raise UsageError(f"--history: none of its {len(tokens)} item(s) is known to the model in "
                         f"{args.model}")
    if unknown:
        print(f"minitransformer: warning: {len(unknown)} unknown item(s) in --history skipped: "
              f"{' '.join(unknown[:10])}", file=sys.stderr)
    recommendations = predict(model, tokens, k=args.k, include_history=args.include_history)
    attention = attended_items(model, tokens)
    print(f"top-{len(recommendations)} next items for a history of {len(known)} known item(s):")
    for rank, (item, score) in enumerate(recommendations, start=1):
        print(f"{rank:3d}. {item}  score {score:.4f}")
    print("history items the last layer attended to most (position in history, weight):")
    for item, position, weight in attention:
        print(f"  {item} (#{position})  {weight:.3f}")
    write_json(args.json, {
        "recommendations": [{"item": item, "score": score} for item, score in recommendations],
        "attention": [{"item": item, "position": position, "weight": weight}
                      for item, position, weight in attention],
        "unknown_items": unknown, "unknown_count": len(unknown)})
    return 0


def _simulate(args) -> int:
    from tasks.recommendation.synthetic import ShopConfig, write_purchases

    require(args, "out")
    if args.out.exists():
        raise UsageError(f"--out {args.out}: already exists; choose a new file (simulate never "
                         "overwrites one)")
    counts = write_purchases(args.out, ShopConfig.for_items(args.items, users=args.users, seed=args.seed))
    print(f"{counts['purchases']} purchases of {counts['items']} items by {counts['users']} shoppers "
          f"written to {args.out}")
    return 0
