"""Where the command line finds its task heads: package entry points, read without importing torch.

A head is any importable module that follows the *command protocol* and is named in the entry
point group ``minitransformer.commands`` of an installed package. Our own heads are declared in
``pyproject.toml``::

    [project.entry-points."minitransformer.commands"]
    recommend = "tasks.recommendation.cli"

and a package of yours adds a fifth head the same way, without touching this package (see the
documentation page "Add your own head"). The module must define::

    HELP: str                                   # one line, shown by `minitransformer --help`
    def add_arguments(parser) -> None: ...      # its actions and options
    def run(args) -> int | None: ...            # do the work; the exit status (None = 0)

and may define, for ``minitransformer plot attention``::

    MODEL_FILE: str                             # a file only this head writes in a model folder
    def attention_views(model_dir, text) -> list[AttentionView]: ...

Only the chosen command's module is imported to build its parser; ``--help`` imports each
module for its ``HELP`` line, so a head module must not import torch at import time.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from types import ModuleType

from minitransformer.errors import UsageError

__all__ = ["GROUP", "Command", "find_commands", "load_command"]

GROUP = "minitransformer.commands"


@dataclass(frozen=True)
class Command:
    """A registered command: its name and the module (``"package.module"``) that implements it."""

    name: str
    module: str


def find_commands() -> dict[str, Command]:
    """Every registered command, in the order the packages declare them (first name wins)."""
    found: dict[str, Command] = {}
    for point in entry_points(group=GROUP):
        found.setdefault(point.name, Command(point.name, point.value.split(":")[0]))
    return found


def load_command(command: Command) -> ModuleType:
    """Import the module of ``command`` and check that it has the protocol's three names."""
    try:
        module = importlib.import_module(command.module)
    except ModuleNotFoundError as err:
        if err.name and command.module.startswith(err.name):
            raise UsageError(f"'{command.name}' is registered but its module {command.module} "
                             "is not importable") from None
        raise UsageError(f"'{command.name}' needs the package {err.name!r}, which is not installed") from None
    missing = [name for name in ("HELP", "add_arguments", "run") if not hasattr(module, name)]
    if missing:
        raise UsageError(f"'{command.name}': {command.module} lacks {', '.join(missing)} "
                         "(see minitransformer.cli.registry)")
    return module
