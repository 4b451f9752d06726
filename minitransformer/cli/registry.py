"""Where the command line finds its task heads: package entry points, read without importing torch.

A head is any importable module that follows the *command protocol* and is named in the entry
point group ``minitransformer.commands`` of an installed package, in its ``pyproject.toml``::

    [project.entry-points."minitransformer.commands"]
    reviews = "reviews.cli"

The four heads of this repository are declared the same way in its own ``pyproject.toml``, and a
package of yours adds a fifth head without touching this package (see the documentation page
"Add your own head"). The module must define::

    HELP: str                                   # one line, shown by `minitransformer --help`
    def add_arguments(parser) -> None: ...      # its actions and options
    def run(args) -> int | None: ...            # do the work; the exit status (None = 0)

and may define, for ``minitransformer plot attention``::

    MODEL_FILE: str                             # a file only this head writes in a model folder
    def attention_views(model_dir, text) -> list[AttentionView]: ...

Only the chosen command's module is imported to build its parser. ``minitransformer --help``
imports no head at all: :func:`help_line` reads each module's ``HELP`` string from its source
file (a head package imports torch as soon as its ``__init__`` exports ``train``; the list of
commands should not wait for that).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

from minitransformer.errors import UsageError

__all__ = ["GROUP", "Command", "find_commands", "help_line", "load_command"]

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


def _source_file(module: str) -> Path | None:
    """The ``.py`` file of ``module``, found by importing only its top-level package."""
    top, *rest = module.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if not rest:
        return Path(spec.origin) if spec.origin and spec.origin.endswith(".py") else None
    for folder in spec.submodule_search_locations or ():
        for candidate in (Path(folder, *rest).with_suffix(".py"), Path(folder, *rest, "__init__.py")):
            if candidate.is_file():
                return candidate
    return None


def help_line(command: Command) -> str:
    """The command's ``HELP`` string, read from its source without importing it; if the source
    cannot be read that way, the module is imported (:func:`load_command`)."""
    path = _source_file(command.module)
    if path is not None:
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "HELP"
                                                    for t in node.targets):
                if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                    return node.value.value
    return load_command(command).HELP

