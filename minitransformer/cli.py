"""The ``minitransformer`` command (also ``python -m minitransformer``).

Commands::

    minitransformer info                         versions, device, threads
    minitransformer demo [--quick] [--out DIR]   the four use cases on built-in data (tasks.demo)
    minitransformer recommend train|evaluate|predict ...
    minitransformer qa        train|evaluate|predict ...
    minitransformer forecast  train|evaluate|predict ...
    minitransformer risk      train|evaluate|predict ...
    minitransformer exercises list|make|check|progress
    minitransformer plot      attention|curves ...  pictures (minitransformer.plot_cli; needs the plot extra)

Fast help: this module imports neither torch nor any task at import time. A task's module is
imported only when its command is used, so ``minitransformer --help`` lists every task without
loading one.

**Task module protocol.** :data:`TASKS` maps a command to ``(module path, one-line help)``.
The module defines two functions::

    # tasks/recommendation/cli.py
    from minitransformer.cli import UsageError, add_task_actions

    def add_arguments(parser: argparse.ArgumentParser) -> None:
        '''Add the task's actions and options to `minitransformer recommend`'s parser.'''
        actions = add_task_actions(parser)            # train / evaluate / predict + common options
        actions["train"].add_argument("--max-len", type=int, default=50, help="...")

    def run(args: argparse.Namespace) -> int | None:
        '''Do the work; return an exit status (None = 0).'''
        if args.action == "train":
            ...

``add_task_actions`` creates the sub-commands (``args.action`` holds the chosen one) and
gives each the common options of :func:`add_common_options`; a task may add more actions
(``add_task_actions(parser, actions=("train", "evaluate", "predict", "export"))``).
A command whose module does not exist yet prints ``minitransformer: error: 'qa' is not
available yet ...`` and exits with status 2.

**Errors.** Status 2 and one line ``minitransformer: error: <message>`` (no traceback) for bad
options, bad paths and bad data: :class:`UsageError`, ``ValueError`` (including
``CheckpointError`` and ``json.JSONDecodeError``) and ``OSError`` (``FileNotFoundError``,
``PermissionError``, ...) raised anywhere in the task code are turned into that line, so task
code just raises them with a message that names the file or option. A diverged training
(``NonFiniteLossError``) gives one line and status 1; ``--debug`` shows the full traceback of
any error; any other exception is a bug and shows its traceback. Ctrl-C exits with 130.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main", "build_parser", "add_common_options", "add_task_actions", "UsageError", "TASKS",
           "PROG", "number", "positive_int", "non_negative_int", "positive_float", "non_negative_float",
           "fraction"]

PROG = "minitransformer"

#: command -> (module implementing the task protocol, one-line help); edit to add a task.
TASKS: dict[str, tuple[str, str]] = {
    "recommend": ("tasks.recommendation.cli", "next-item recommendation from interaction sequences"),
    "qa": ("tasks.qa.cli", "customer-service QA: intent routing, FAQ retrieval, generated replies"),
    "forecast": ("tasks.forecasting.cli", "sales forecasting from weekly or daily history"),
    "risk": ("tasks.risk.cli", "fraud and credit-risk detection on tables of transactions"),
    "exercises": ("minitransformer.exercises", "course exercises: student version, check, progress"),
    "plot": ("minitransformer.plot_cli", "pictures: attention heatmaps, training curves"),
}

#: the demo's module (``main(args)``); a task package, named by a string: the core imports no task
DEMO_MODULE = "tasks.demo"


class UsageError(ValueError):
    """A mistake of the person running the command; printed as one line, exit status 2."""


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that raises :class:`UsageError` instead of printing usage and exiting."""

    def error(self, message: str):
        hint = f" (see '{self.prog} --help')"
        raise UsageError(message + hint)


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
positive_float = number(float, 0.0, 1e300, low_open=True, description="a positive number")
non_negative_float = number(float, 0.0, 1e300, description="a non-negative number")
fraction = number(float, 0.0, 1.0, low_open=True, description="a number in (0, 1]")

_DEVICES = ("auto", "cpu", "cuda", "mps")


def _device(text: str) -> str:
    base, _, index = text.partition(":")
    if base not in _DEVICES or (index and (base != "cuda" or not index.isdigit())):
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
        "data": (("--data",), dict(type=Path, metavar="PATH", help="input data file or directory")),
        "out": (("--out",), dict(type=Path, metavar="DIR", help="output / run directory")),
        "model": (("--model",), dict(type=Path, metavar="DIR", help="trained model directory to load")),
        "epochs": (("--epochs",), dict(type=positive_int, metavar="N", help="training epochs")),
        "batch_size": (("--batch-size",), dict(type=positive_int, metavar="N", help="batch size")),
        "lr": (("--lr",), dict(type=positive_float, metavar="X", help="peak learning rate")),
        "seed": (("--seed",), dict(type=non_negative_int, default=0, metavar="N",
                                   help="random seed (default 0)")),
        "device": (("--device",), dict(type=_device, default="auto",
                                       help="auto|cpu|cuda|cuda:N|mps (default auto)")),
        "max_minutes": (("--max-minutes",), dict(type=positive_float, metavar="X",
                                                 help="stop training after X minutes, keep the best model")),
        "resume": (("--resume",), dict(type=Path, metavar="DIR", help="resume an interrupted run")),
        "json": (("--json",), dict(metavar="FILE", help="also write results as JSON ('-' = stdout)")),
        "debug": (("--debug",), dict(action="store_true", help="show full tracebacks on errors")),
    }
    for name, (flags, kwargs) in options.items():
        if name not in skip and flags[0].lstrip("-").replace("-", "_") not in skip:
            parser.add_argument(*flags, **kwargs)


#: the common options a ``simulate`` action does without (it trains nothing and reads no data)
_NOT_FOR_SIMULATE = ("data", "out", "model", "epochs", "batch_size", "lr", "device", "max_minutes", "resume",
                     "json")


def add_task_actions(parser: argparse.ArgumentParser,
                     actions: Sequence[str] = ("train", "evaluate", "predict"),
                     common: bool = True) -> dict[str, argparse.ArgumentParser]:
    """Add sub-commands ``actions`` to a task's parser; ``args.action`` names the chosen one.

    A ``simulate`` action (write a task's built-in seeded data set) always gets ``--out FILE``,
    ``--seed`` and ``--debug`` only; the task adds its generator's own options.

    Returns:
        ``{action: its parser}``, each with :func:`add_common_options` when ``common``.
    """
    helps = {"train": "train a model", "evaluate": "evaluate a trained model on labelled data",
             "predict": "predict with a trained model", "simulate": "write the built-in seeded data set"}
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    out = {}
    for action in actions:
        p = sub.add_parser(action, help=helps.get(action, action), description=helps.get(action))
        if action == "simulate":
            p.add_argument("--out", type=Path, metavar="FILE", help="the CSV file to write")
            add_common_options(p, skip=_NOT_FOR_SIMULATE)
        elif common:
            add_common_options(p)
        out[action] = p
    return out


def _command_word(argv: Sequence[str]) -> str | None:
    """The first non-option word of ``argv`` (the command), if any."""
    for arg in argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg
    return None


def _not_available(command: str, module: str) -> UsageError:
    return UsageError(f"'{command}' is not available yet (module {module} not found)")


def _load_module(command: str, module: str):
    """Import ``module``; a missing module (or package above it) means 'not available yet'."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        parts = module.split(".")
        prefixes = {".".join(parts[: i + 1]) for i in range(len(parts))}
        if err.name in prefixes:
            raise _not_available(command, module) from None
        if err.name and err.name.split(".")[0] == parts[0]:  # the task's own code is incomplete
            raise UsageError(f"'{command}' failed to load: {err}") from None
        raise UsageError(f"'{command}' needs the package {err.name!r}, which is not installed") from None


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The full parser; only the task named in ``argv`` (if any) is imported and completed."""
    parser = _ArgumentParser(
        prog=PROG, description="minitransformer: an educational Transformer framework.",
        epilog="Run 'minitransformer COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    info = sub.add_parser("info", help="versions, device and threads")
    info.add_argument("--json", action="store_true", help="print as JSON")
    info.set_defaults(handler=_run_info)

    demo = sub.add_parser("demo", help="run the end-to-end demo and write a report")
    demo.add_argument("--quick", action="store_true", help="a smaller, faster demo")
    demo.add_argument("--out", type=Path, metavar="DIR",
                      help="report folder (default demo-report/)")
    demo.add_argument("--seed", type=non_negative_int, default=0, metavar="N", help="random seed")
    demo.add_argument("--device", type=_device, default="auto", help="auto|cpu|cuda|cuda:N|mps")
    demo.add_argument("--max-minutes", type=positive_float, metavar="X",
                      help="training budget of the whole demo, split over the four use cases")
    demo.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    demo.set_defaults(handler=_run_demo)

    chosen = _command_word(argv)
    for command, (module, help_text) in TASKS.items():
        if command == chosen:
            task_module = _load_module(command, module)
            for fn in ("add_arguments", "run"):
                if not callable(getattr(task_module, fn, None)):
                    raise UsageError(f"'{command}' is not available yet ({module} has no {fn}())")
            p = sub.add_parser(command, help=help_text, description=help_text)
            task_module.add_arguments(p)
            p.set_defaults(handler=task_module.run)
        else:  # a placeholder: listed in --help, completed only when used
            sub.add_parser(command, help=help_text, add_help=False)
    return parser


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("minitransformer")
    except Exception:  # not installed (running from a source tree)
        return "unknown"


def _run_info(args: argparse.Namespace) -> int:
    import torch  # only now: `--help` stays fast

    import minitransformer

    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    device = "cuda" if cuda else "mps" if mps else "cpu"
    info = {
        "minitransformer": getattr(minitransformer, "__version__", _version()),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": device,
        "cuda_available": cuda,
        "cuda_devices": ([torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
                         if cuda else []),
        "mps_available": mps,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
    }
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        width = max(map(len, info))
        for key, value in info.items():
            if isinstance(value, list):
                value = ", ".join(value) or "-"
            print(f"{key:<{width}}  {value}")
    return 0


def _run_demo(args: argparse.Namespace) -> int | None:
    module = _load_module("demo", DEMO_MODULE)
    if not callable(getattr(module, "main", None)):
        raise UsageError(f"'demo' is not available yet ({DEMO_MODULE} has no main())")
    return module.main(args)


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0].strip() if lines else type(err).__name__


def _fail(message: str, status: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (the console script exits with it)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or bool(os.environ.get("MINITRANSFORMER_DEBUG"))
    try:
        parser = build_parser(argv)
        args = parser.parse_args(argv)
        status = args.handler(args)
        return 0 if status is None else int(status)
    except SystemExit as exit_:  # --help / --version, or a task calling sys.exit
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else _fail(str(code), 1))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except (UsageError, ValueError, OSError) as err:
        if debug:
            traceback.print_exc()
        message = _first_line(err)
        if isinstance(err, OSError) and err.filename is not None and str(err.filename) not in message:
            message = f"{err.filename}: {message}"
        return _fail(message, 2)
    except Exception as err:
        if any(cls.__name__ == "NonFiniteLossError" for cls in type(err).__mro__):
            if debug:
                traceback.print_exc()
            return _fail(_first_line(err), 1)
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
