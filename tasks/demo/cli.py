"""``minitransformer demo``: the command module of the demo (see :mod:`tasks.demo`)."""

from __future__ import annotations

import argparse

from minitransformer.cli.options import device, path, positive_float, seed

__all__ = ["HELP", "add_arguments", "run"]

HELP = "run the end-to-end demo and write a report"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="a smaller, faster demo")
    parser.add_argument("--out", type=path, metavar="DIR", help="report folder (default demo-report/)")
    parser.add_argument("--seed", type=seed, default=0, metavar="N", help="random seed (default 0)")
    parser.add_argument("--device", type=device, default="auto", help="auto|cpu|cuda|cuda:N|mps")
    parser.add_argument("--max-minutes", type=positive_float, metavar="X",
                        help="training budget of the whole demo, split over the four use cases")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")


def run(args: argparse.Namespace) -> int:
    """Run the demo with the options of ``minitransformer demo``; 0 when every use case finished."""
    from tasks.demo.runner import run_demo

    _, failures = run_demo(out=args.out, quick=bool(args.quick), seed=args.seed, device=args.device,
                           max_minutes=args.max_minutes, debug=bool(getattr(args, "debug", False)))
    return 1 if failures else 0
