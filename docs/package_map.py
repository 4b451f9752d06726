"""The map of the package, read from the source: its boxes, their layers and the import arrows.

``docs/make_figures.py architecture`` draws it; ``tests/docs/test_package_map.py`` checks it. A
box is a part of the code, named after its folder:

* ``cli``: the command line: ``minitransformer/cli/``, ``minitransformer/__main__.py`` and every
  head's command module ``tasks/<head>/cli.py`` (the commands sit on top of what they run);
* ``demo`` and one box per head: the rest of ``tasks/<name>/``;
* one box per subpackage of ``minitransformer/`` (``nn``, ``training``, ``generation``, ...)
  and ``errors`` for ``minitransformer/errors.py``.

An arrow ``A -> B`` means that some module of A imports some module of B. Every ``import`` and
``from ... import`` statement counts, inside functions too (a lazy import is still a
dependency); relative imports are resolved; a name imported from the top-level package
(``from minitransformer import Encoder``) is followed to the module that defines it, through
the table ``_EXPORTS`` of ``minitransformer/__init__.py``. The arrows are counted: ``weight``
is the number of (importing module, imported module) pairs behind an arrow.

Layers, from the bottom (row 0) up: the core boxes are stacked by their longest chain of
arrows (a box that imports no other box is in row 0, one that imports only row-0 boxes in row
1, ...); above them come the heads, then the demo, then the command line. An arrow "points
down" when it ends in a lower row than it starts; :func:`upward_arrows` lists the others.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("minitransformer", "tasks")
CLI, DEMO = "cli", "demo"

#: what each known box holds, for the picture (a new box shows its folder only)
CAPTIONS = {
    "cli": "the command line: minitransformer/cli/ and each head's cli.py",
    "demo": "tasks/demo\n(minitransformer demo)",
    "recommendation": "tasks/recommendation",
    "qa": "tasks/qa",
    "forecasting": "tasks/forecasting",
    "risk": "tasks/risk",
    "nn": "nn/\nthe teaching core",
    "errors": "errors.py\nthe error classes",
    "training": "training/\nTrainer, objectives",
    "generation": "generation/\ngreedy, beam, sampling",
    "tokenizers": "tokenizers/\ncharacters, BPE",
    "metrics": "metrics/\nthe heads' scores",
    "pictures": "pictures/\nattention, curves",
    "interop": "interop/\nPyTorch, NumPy oracles",
    "exercises": "exercises/\nthe course",
    "examples": "examples/\ndigit reversal",
    "files": "files/\nusers' CSVs, run folders",
}


# ----------------------------------------------------------------------------- modules
def module_name(path: Path, root: Path = ROOT) -> str:
    """``minitransformer/nn/attention.py`` -> ``minitransformer.nn.attention``."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files(root: Path = ROOT) -> list[Path]:
    """Every ``.py`` file of the two packages, sorted."""
    return sorted(path for package in PACKAGES for path in (root / package).rglob("*.py"))


def top_level_exports(root: Path = ROOT) -> dict[str, str]:
    """``{"Encoder": "minitransformer.nn.encoder", ...}``: where each top-level name comes from."""
    tree = ast.parse((root / "minitransformer" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_EXPORTS"
                                                for t in node.targets):
            return {name: f"minitransformer.{where}" for name, where in ast.literal_eval(node.value).items()}
    return {}


def imported_modules(path: Path, modules: set[str], exports: dict[str, str],
                     root: Path = ROOT) -> set[str]:
    """The project modules that the file at ``path`` imports (resolved to modules in ``modules``).

    ``from pkg import name`` is the module ``pkg.name`` when there is one, else ``pkg``; from the
    top-level package it is the module in ``exports`` that defines ``name``. A bare
    ``import minitransformer`` (its ``__version__``, say) reaches no box and is left out.
    """
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # from .x import y, from .. import z
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            for alias in node.names:
                if f"{source}.{alias.name}" in modules:
                    found.add(f"{source}.{alias.name}")
                elif source == "minitransformer" and alias.name in exports:
                    found.add(exports[alias.name])
                else:
                    found.add(source)
    return {m for m in found if m in modules and m not in PACKAGES}


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """``{module: the project modules it imports}`` for every source file."""
    files = source_files(root)
    modules = {module_name(path, root) for path in files}
    exports = top_level_exports(root)
    return {module_name(path, root): imported_modules(path, modules, exports, root) for path in files}


# ----------------------------------------------------------------------------- boxes and arrows
def box_of(module: str) -> str | None:
    """The box a module belongs to; ``None`` for the two top-level ``__init__`` files."""
    parts = module.split(".")
    if len(parts) == 1:
        return None
    if parts[0] == "tasks":
        return CLI if len(parts) >= 3 and parts[2] == "cli" else parts[1]
    return CLI if parts[1] in ("cli", "__main__") else parts[1]


def is_head(box: str, root: Path = ROOT) -> bool:
    """A task head: a folder ``tasks/<box>/`` other than the demo."""
    return box != DEMO and (root / "tasks" / box).is_dir()


def import_arrows(root: Path = ROOT) -> Counter[tuple[str, str]]:
    """``{(importing box, imported box): weight}`` over every import statement of the source.

    ``weight`` counts the (module, imported module) pairs behind the arrow; imports inside a box
    are not arrows.
    """
    arrows: Counter[tuple[str, str]] = Counter()
    for module, targets in import_graph(root).items():
        for target in targets:
            start, end = box_of(module), box_of(target)
            if start is not None and end is not None and start != end:
                arrows[start, end] += 1
    return arrows


def boxes(root: Path = ROOT) -> list[str]:
    """Every box, sorted: subpackages of ``minitransformer``, ``errors``, heads, demo, cli."""
    found = {box_of(module_name(path, root)) for path in source_files(root)} - {None}
    return sorted(found)


def layers(arrows: Counter[tuple[str, str]] | None = None, root: Path = ROOT) -> list[list[str]]:
    """The boxes by row, bottom (row 0) first; see the module docstring for the rule."""
    arrows = import_arrows(root) if arrows is None else arrows
    every = boxes(root)
    heads = [b for b in every if is_head(b, root)]
    core = [b for b in every if b not in heads and b not in (DEMO, CLI)]
    below = {b: {end for start, end in arrows if start == b and end in core} for b in core}
    rank: dict[str, int] = {}

    def depth(box: str, path: tuple[str, ...] = ()) -> int:
        if box in path:  # a cycle among core boxes: cut it here (one of its arrows will point up)
            return 0
        if box not in rank:
            rank[box] = 1 + max((depth(b, (*path, box)) for b in below[box]), default=-1)
        return rank[box]

    rows: list[list[str]] = [[] for _ in range(1 + max((depth(b) for b in core), default=0))]
    for box in core:
        rows[rank[box]].append(box)
    return [*rows, heads, [DEMO] if DEMO in every else [], [CLI] if CLI in every else []]


def row_of(rows: list[list[str]]) -> dict[str, int]:
    return {box: r for r, row in enumerate(rows) for box in row}


def upward_arrows(arrows: Counter[tuple[str, str]] | None = None, root: Path = ROOT) -> list[str]:
    """``"A -> B"`` for each arrow that does not point down (B in A's row or above it)."""
    arrows = import_arrows(root) if arrows is None else arrows
    row = row_of(layers(arrows, root))
    return sorted(f"{a} -> {b}" for a, b in arrows if row[b] >= row[a])


def offending_imports(start: str, end: str, root: Path = ROOT) -> list[str]:
    """The ``module -> module`` imports behind the arrow ``start -> end`` (to say what to fix)."""
    return sorted(f"{m} -> {t}" for m, targets in import_graph(root).items() if box_of(m) == start
                  for t in targets if box_of(t) == end)


if __name__ == "__main__":  # a text version of the picture
    found = import_arrows()
    for r, row in reversed(list(enumerate(layers(found)))):
        print(f"row {r}: {', '.join(row)}")
    for (a, b), weight in sorted(found.items()):
        print(f"  {a} -> {b}  ({weight})")
    for arrow in upward_arrows(found):
        print("points up:", arrow, offending_imports(*arrow.split(" -> ")))
