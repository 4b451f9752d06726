"""``minitransformer reviews train|evaluate|predict|simulate``: the command module of the head.

It only turns arguments into calls of the four verbs; torch is imported inside ``run``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from minitransformer.cli.options import add_task_actions, positive_int, require, write_json
from minitransformer.errors import UsageError

HELP = "is a product review a complaint? (a head that lives in the tests)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = add_task_actions(parser, actions=("train", "evaluate", "predict", "simulate"))
    actions["predict"].add_argument("--text", action="append", metavar="TEXT", help="a review (repeatable)")
    actions["simulate"].add_argument("--reviews", type=positive_int, default=400, metavar="N")


def run(args: argparse.Namespace) -> int:
    from tests.heads.reviews import evaluate, load, predict, train  # noqa: I001  (torch from here on)
    from tests.heads.reviews.synthetic import write_reviews

    if args.action == "simulate":
        require(args, "out")
        print(f"wrote {write_reviews(args.out, n=args.reviews, seed=args.seed)}")
    elif args.action == "train":
        require(args, "data", "out")
        if Path(args.out).exists():
            raise UsageError(f"--out {args.out}: already exists; choose a new folder")
        result = train(args.data, args.out, seed=args.seed, epochs=args.epochs)
        print(f"validation accuracy {result.metrics['accuracy']:.3f}; model in {result.model_dir}")
    elif args.action == "evaluate":
        require(args, "model", "data")
        scores = evaluate(load(args.model), args.data)
        print(f"accuracy {scores['accuracy']:.3f} (majority class {scores['baseline_accuracy']:.3f})")
        write_json(args.json, scores)
    else:
        require(args, "model", "text")
        for text, p in zip(args.text, predict(load(args.model), args.text)):
            print(f"{p:.3f}  {text}")
    return 0
