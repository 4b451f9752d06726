"""The arrows between the package's parts point one way: heads -> training -> core.

Each rule names the modules it constrains and what they may not import; a failure lists every
offending ``importer -> imported`` pair, so the fix is obvious. The import statements are read
by ``docs/package_map.py``, the same scan that draws the package map in the documentation.
"""

from __future__ import annotations

import ast

import pytest

from docs.package_map import ROOT, import_graph

GRAPH = import_graph()
HEADS = sorted(p.name for p in (ROOT / "tasks").iterdir()
               if p.is_dir() and (p / "__init__.py").exists() and p.name != "demo")


def offenders(importer: str, forbidden) -> list[str]:
    """``importer -> imported`` for each module under ``importer`` that imports a forbidden one."""
    return sorted(f"{module} -> {target}" for module, targets in GRAPH.items()
                  if module == importer or module.startswith(importer + ".")
                  for target in targets if forbidden(target))


def under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_scan_sees_the_package():
    assert "minitransformer.nn.attention" in GRAPH
    assert "minitransformer.nn.functional" in GRAPH["minitransformer.nn.attention"]
    assert len(HEADS) >= 4, HEADS


def test_the_teaching_core_imports_nothing_outside_nn():
    """``minitransformer/nn`` is read on its own: it needs only itself (and torch)."""
    assert offenders("minitransformer.nn", lambda t: not under(t, "minitransformer.nn")) == []


def test_the_core_never_imports_a_head():
    assert offenders("minitransformer", lambda t: under(t, "tasks")) == []


def test_the_core_never_names_a_head_in_a_string():
    """Heads are found through entry points, not by module names written in the core."""
    named = []
    for path in sorted((ROOT / "minitransformer").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                    node.value.startswith("tasks."):
                named.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert named == []


def test_pictures_do_not_import_the_command_line():
    assert offenders("minitransformer.pictures", lambda t: under(t, "minitransformer.cli")) == []


def test_only_command_modules_import_the_command_line():
    """The CLI sits on top: the library below it never imports it (a notebook needs no argparse)."""
    def is_command_module(module: str) -> bool:
        return under(module, "minitransformer.cli") or module.endswith(".cli") or module in (
            "minitransformer.__main__", "minitransformer.exercises")  # `exercises` is a command

    bad = [pair for pair in offenders("minitransformer", lambda t: under(t, "minitransformer.cli"))
           + offenders("tasks", lambda t: under(t, "minitransformer.cli"))
           if not is_command_module(pair.split(" -> ")[0])]
    assert bad == []


def test_training_and_generation_do_not_import_pictures_or_the_course():
    for package in ("minitransformer.training", "minitransformer.generation", "minitransformer.tokenizers",
                    "minitransformer.metrics"):
        assert offenders(package, lambda t: any(under(t, f"minitransformer.{p}") for p in
                                                ("pictures", "exercises", "examples", "cli"))) == []


@pytest.mark.parametrize("head", HEADS)
def test_a_head_imports_no_other_head_and_no_demo(head):
    others = [f"tasks.{h}" for h in HEADS if h != head] + ["tasks.demo"]
    assert offenders(f"tasks.{head}", lambda t: any(under(t, o) for o in others)) == []
    assert offenders(f"tasks.{head}", lambda t: under(t, "minitransformer.examples")) == []


@pytest.mark.parametrize("head", HEADS)
def test_a_heads_pictures_do_not_import_its_command_line(head):
    assert offenders(f"tasks.{head}.plot", lambda t: under(t, f"tasks.{head}.cli")) == []


def test_the_files_package_stands_on_its_own():
    """Reading users' files and holding run folders needs no model: ``minitransformer.files``
    imports only the error classes, so a head, the trainer or a script can use it anywhere."""
    assert offenders("minitransformer.files", lambda t: t.startswith("minitransformer")
                     and not under(t, "minitransformer.files") and t != "minitransformer.errors") == []
