"""The ``minitransformer`` command (also ``python -m minitransformer``).

Commands::

    minitransformer info                         versions, device, threads
    minitransformer exercises list|make|check|progress
    minitransformer plot      attention|curves   pictures (minitransformer.cli.plot; the plot extra)
    minitransformer generate  --model DIR TEXT   continue a prompt with GPT-2 (minitransformer.cli.generate)
    minitransformer <head>    ...                every registered head: demo, recommend, qa,
                                                 forecast, risk (minitransformer.cli.registry)

Fast help: ``minitransformer --help`` imports neither torch nor any head (each head's one-line
``HELP`` is read from its source); a head's module is imported, and its parser completed, only
when that command is used.

**Errors.** Status 2 and one line ``minitransformer: error: <message>`` (no traceback) for bad
options, bad paths and bad data: :class:`~minitransformer.errors.UsageError`, ``ValueError``
(including ``CheckpointError`` and ``json.JSONDecodeError``) and ``OSError``
(``FileNotFoundError``, ``PermissionError``, ...) raised anywhere in the head's code are turned
into that line, so head code just raises them with a message that names the file or option. A
diverged training (``NonFiniteLossError``) gives one line and status 1; ``--debug`` shows the
full traceback of any error; any other exception is a bug and shows its traceback. Ctrl-C
exits with 130.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import traceback
from collections.abc import Sequence

from minitransformer.cli.registry import Command, find_commands, help_line, load_command
from minitransformer.errors import UsageError

__all__ = ["main", "build_parser", "check_device", "PROG", "CORE_COMMANDS"]

PROG = "minitransformer"

#: the core's own commands beside ``info``; heads are found by :mod:`minitransformer.cli.registry`
CORE_COMMANDS: dict[str, str] = {"exercises": "minitransformer.exercises", "plot": "minitransformer.cli.plot",
                                 "generate": "minitransformer.cli.generate"}


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that raises :class:`UsageError` instead of printing usage and exiting."""

    def error(self, message: str):
        hint = f" (see '{self.prog} --help')"
        raise UsageError(message + hint)


def _command_word(argv: Sequence[str]) -> str | None:
    """The first non-option word of ``argv`` (the command), if any."""
    for arg in argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg
    return None


def _commands() -> dict[str, Command]:
    """Registered heads first (demo, recommend, ...), then the core's own commands."""
    commands = find_commands()
    commands.update({name: Command(name, module) for name, module in CORE_COMMANDS.items()})
    return commands


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The full parser; only the command named in ``argv`` (if any) is completed."""
    parser = _ArgumentParser(
        prog=PROG, description="minitransformer: an educational Transformer framework.",
        epilog="Run 'minitransformer COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    info = sub.add_parser("info", help="versions, device and threads")
    info.add_argument("--json", action="store_true", help="print as JSON")
    info.set_defaults(handler=_run_info)

    chosen = _command_word(argv)
    for name, command in _commands().items():
        if name == chosen:
            module = load_command(command)
            p = sub.add_parser(name, help=module.HELP, description=module.HELP)
            module.add_arguments(p)
            p.set_defaults(handler=module.run)
        else:  # a placeholder: listed in --help (its HELP read from the source), completed when used
            sub.add_parser(name, help=help_line(command), add_help=False)
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


def check_device(device: str | None) -> None:
    """Refuse ``--device cuda`` (or ``cuda:N``, ``mps``) on a machine that does not have it,
    before any work: every command, training or not, gets the same one-line error."""
    if device is None or device in ("auto", "cpu"):
        return
    import torch  # only now: `--help` stays fast

    if device.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(device.partition(":")[2] or 0)
        if index >= count:
            have = f"{count} CUDA device(s)" if count else "no CUDA device"
            raise UsageError(f"--device {device}: this machine has {have} (torch {torch.__version__}); "
                             "use --device cpu or auto")
    elif device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UsageError("--device mps: Apple's MPS is not available on this machine; "
                         "use --device cpu or auto")


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0].strip() if lines else type(err).__name__


def _fail(message: str, status: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return status


def _refuse_unknown_options_before_a_command(argv: Sequence[str]) -> None:
    """``minitransformer --bogus``: name the unknown option (argparse would only say that a
    command is missing)."""
    if _command_word(argv) is None:
        unknown = [arg for arg in argv if arg.startswith("-") and arg not in _TOP_OPTIONS]
        if unknown:
            raise UsageError(f"unrecognized arguments: {' '.join(unknown)} (see '{PROG} --help')")


_TOP_OPTIONS = ("-h", "--help", "--version", "--debug", "--")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (the console script exits with it)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or bool(os.environ.get("MINITRANSFORMER_DEBUG"))
    try:
        _refuse_unknown_options_before_a_command(argv)
        parser = build_parser(argv)
        args = parser.parse_args(argv)
        check_device(getattr(args, "device", None))
        status = args.handler(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the try
        return 0 if status is None else int(status)
    except BrokenPipeError:  # `minitransformer ... | head`: the reader left; end quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
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
