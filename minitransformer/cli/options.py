"""The options every task action shares, and argparse types that check their range.

A head's ``cli.py`` builds its parser with these, so that ``--epochs 0`` or ``--lr nan`` is
refused by argparse in one line that names the option, before any work starts::

    from minitransformer.cli.options import add_task_actions, positive_int

    def add_arguments(parser):
        actions = add_task_actions(parser)                    # train / evaluate / predict
        actions["train"].add_argument("--max-len", type=positive_int, default=50)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from minitransformer.errors import UsageError

__all__ = ["number", "positive_int", "non_negative_int", "positive_float", "non_negative_float",
           "fraction", "seed", "path", "json_file", "device", "add_common_options", "add_task_actions",
           "require", "write_json", "USE_OPTIONS", "TRAIN_OPTIONS"]


def number(kind: type, minimum: float, maximum: float = float("inf"), *, low_open: bool = False,
           description: str = ""):
    """An argparse ``type=`` that parses ``kind`` (int or float) and checks its range.

    ``number(int, 1)`` accepts 1, 2, ...; ``number(float, 0, 1, low_open=True)`` accepts (0, 1].
    A bad value gives argparse's one-line error naming the option and the expected range.
    """
    expected = description or f"a {kind.__name__} in {'(' if low_open else '['}{minimum}, {maximum}]"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        too_low = value <= minimum if low_open else value < minimum
        if too_low or value > maximum or value != value:  # value != value: NaN
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    parse.__name__ = expected  # argparse names the type in some messages
    return parse


positive_int = number(int, 1, description="a positive integer")
non_negative_int = number(int, 0, description="a non-negative integer")
#: random seeds go to Python, NumPy and torch: all three take 0 .. 2**32 - 1
seed = number(int, 0, 2**32 - 1, description="an integer from 0 to 4294967295")
positive_float = number(float, 0.0, 1e300, low_open=True, description="a positive number")
non_negative_float = number(float, 0.0, 1e300, description="a non-negative number")
fraction = number(float, 0.0, 1.0, low_open=True, description="a number in (0, 1]")

DEVICES = ("auto", "cpu", "cuda", "mps")


def path(text: str) -> Path:
    """A file or folder option: an empty value (often an unset shell variable, ``--data "$X"``)
    is refused instead of meaning the current folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a file or folder name, got {text!r}")
    return Path(text)


def json_file(text: str) -> str:
    """``--json FILE`` (``-`` = standard output); an empty value is refused like :func:`path`'s."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a file name or '-', got {text!r}")
    return text


def device(text: str) -> str:
    base, _, index = text.partition(":")
    if base not in DEVICES or (index and (base != "cuda" or not index.isdigit())):
        raise argparse.ArgumentTypeError(f"expected auto, cpu, cuda, cuda:N or mps, got {text!r}")
    return text


def add_common_options(parser: argparse.ArgumentParser, skip: Sequence[str] = ()) -> None:
    """Add the options every task action shares (leave out those named in ``skip``).

    ``--data PATH`` input data; ``--out DIR`` output/run directory; ``--model DIR`` a trained
    model (run directory) to load; ``--epochs N``; ``--batch-size N``; ``--lr X``;
    ``--seed N`` (default 0); ``--device auto|cpu|cuda|cuda:N|mps`` (default auto);
    ``--max-minutes X`` time budget; ``--resume DIR`` continue an interrupted run;
    ``--json FILE`` also write the results as JSON (``-`` = stdout); ``--debug`` show
    tracebacks. Options left unset are ``None`` so the task can apply its own defaults.
    Paths arrive as :class:`pathlib.Path`; checking that they exist is the task's job (raise
    ``FileNotFoundError``/``UsageError`` with the path in the message).
    """
    options = {
        "data": (("--data",), dict(type=path, metavar="PATH", help="input data file or directory")),
        "out": (("--out",), dict(type=path, metavar="DIR", help="output / run directory")),
        "model": (("--model",), dict(type=path, metavar="DIR", help="trained model directory to load")),
        "epochs": (("--epochs",), dict(type=positive_int, metavar="N", help="training epochs")),
        "batch_size": (("--batch-size",), dict(type=positive_int, metavar="N", help="batch size")),
        "lr": (("--lr",), dict(type=positive_float, metavar="X", help="peak learning rate")),
        "seed": (("--seed",), dict(type=seed, default=0, metavar="N",
                                   help="random seed (default 0)")),
        "device": (("--device",), dict(type=device, default="auto",
                                       help="auto|cpu|cuda|cuda:N|mps (default auto)")),
        "max_minutes": (("--max-minutes",), dict(type=positive_float, metavar="X",
                                                 help="stop training after X minutes, keep the best model")),
        "resume": (("--resume",), dict(type=path, metavar="DIR", help="resume an interrupted run")),
        "json": (("--json",), dict(type=json_file, metavar="FILE",
                                   help="also write results as JSON ('-' = stdout)")),
        "debug": (("--debug",), dict(action="store_true", help="show full tracebacks on errors")),
    }
    for name, (flags, kwargs) in options.items():
        if name not in skip and flags[0].lstrip("-").replace("-", "_") not in skip:
            parser.add_argument(*flags, **kwargs)


#: the common options of the actions that use a trained model (evaluate, predict, ask, chat):
#: no training options (``--epochs``, ``--lr``, ``--max-minutes``, ``--resume``, ``--out``) there
USE_OPTIONS = ("data", "model", "batch_size", "seed", "device", "json", "debug")
#: the common options of ``train``; ``--resume`` only for a head that can resume (``resume=True``)
TRAIN_OPTIONS = ("data", "out", "model", "epochs", "batch_size", "lr", "seed", "device", "max_minutes",
                 "resume", "json", "debug")
_ALL = set(TRAIN_OPTIONS)


def add_task_actions(parser: argparse.ArgumentParser,
                     actions: Sequence[str] = ("train", "evaluate", "predict"),
                     common: bool = True, resume: bool = False) -> dict[str, argparse.ArgumentParser]:
    """Add sub-commands ``actions`` to a task's parser; ``args.action`` names the chosen one.

    Each action lists only its own options: ``train`` gets :data:`TRAIN_OPTIONS` (``--resume``
    only when the head can resume a run, ``resume=True``); ``evaluate``, ``predict`` and any
    other action using a trained model get :data:`USE_OPTIONS`; a ``simulate`` action (write a
    task's built-in seeded data set) gets ``--out FILE``, ``--seed`` and ``--debug``. The head
    adds its own options to the parsers returned.

    Returns:
        ``{action: its parser}``; the common options are left out when ``common`` is false.
    """
    helps = {"train": "train a model", "evaluate": "evaluate a trained model on labelled data",
             "predict": "predict with a trained model", "simulate": "write the built-in seeded data set"}
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    out = {}
    for action in actions:
        p = sub.add_parser(action, help=helps.get(action, action), description=helps.get(action))
        if action == "simulate":
            p.add_argument("--out", type=path, metavar="FILE", help="the CSV file to write")
            add_common_options(p, skip=_ALL - {"seed", "debug"})
        elif common:
            keep = set(TRAIN_OPTIONS) - ({"resume"} if not resume else set()) if action == "train" \
                else set(USE_OPTIONS)
            add_common_options(p, skip=_ALL - keep)
        out[action] = p
    return out


def require(args: argparse.Namespace, *names: str) -> None:
    """Refuse the command unless every option in ``names`` was given (checked before any work).

    Examples:
        >>> require(argparse.Namespace(command="risk", action="train", data=None), "data")
        Traceback (most recent call last):
        ...
        minitransformer.errors.UsageError: risk train: --data is required
    """
    for name in names:
        if getattr(args, name, None) is None:
            words = (getattr(args, "command", None), getattr(args, "action", None))
            where = " ".join(str(w) for w in words if w)
            raise UsageError(f"{where + ': ' if where else ''}--{name.replace('_', '-')} is required")


def write_json(target: str | Path | None, payload: Any) -> None:
    """Write ``payload`` as indented UTF-8 JSON for ``--json FILE``: ``-`` is standard output,
    ``None`` writes nothing. Non-ASCII text stays readable (Chinese answers are not escaped), the
    file's folder is created, and the file is replaced atomically (never half-written)."""
    if target is None:
        return
    from minitransformer.nn.io import json_text, save_json  # only now: --help stays light

    if str(target) == "-":
        sys.stdout.write(json_text(payload))
    else:
        save_json(target, payload)

