"""The map of the package (docs/package_map.py, drawn as docs/assets/figures/architecture.png)
finds the import arrows that exist, and the layers come out as the picture promises."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from docs.package_map import (
    CLI,
    box_of,
    import_arrows,
    is_head,
    layers,
    offending_imports,
    row_of,
    upward_arrows,
)

ARROWS = import_arrows()
ROWS = layers(ARROWS)
HEADS = ROWS[-3]


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


@pytest.fixture
def tiny_tree(tmp_path) -> Path:
    """Two core subpackages, a head with its command module, and the top-level name table."""
    return _write(tmp_path, {
        "minitransformer/__init__.py": '_EXPORTS = {"Encoder": "nn.encoder"}\n',
        "minitransformer/__main__.py": "from minitransformer.cli.main import main\n",
        "minitransformer/errors.py": "",
        "minitransformer/nn/__init__.py": "",
        "minitransformer/nn/encoder.py": "from .functional import softmax\n",
        "minitransformer/nn/functional.py": "import math\n",
        "minitransformer/training/__init__.py": "from minitransformer import Encoder\n",
        "minitransformer/training/trainer.py": """\
            def fit():
                from ..errors import NonFiniteLossError  # a lazy import is an arrow too
            """,
        "minitransformer/cli/__init__.py": "",
        "minitransformer/cli/main.py": "import minitransformer\n",
        "tasks/__init__.py": "",
        "tasks/shop/__init__.py": "from minitransformer.training import trainer\n",
        "tasks/shop/cli.py": "from tasks.shop import model\nfrom minitransformer.cli import main\n",
        "tasks/shop/model.py": "import torch\nfrom minitransformer.nn import encoder\n",
    })


def test_the_scan_resolves_relative_lazy_and_top_level_imports(tiny_tree):
    arrows = import_arrows(tiny_tree)
    assert dict(arrows) == {
        ("training", "nn"): 1,  # from minitransformer import Encoder -> nn.encoder, via _EXPORTS
        ("training", "errors"): 1,  # from ..errors, inside a function
        ("shop", "training"): 1,
        ("shop", "nn"): 1,
        (CLI, "shop"): 1,  # tasks/shop/cli.py belongs to the command line (with cli/main.py)
    }  # nn/encoder -> nn/functional stays inside nn; `import minitransformer` reaches no box
    assert layers(arrows, tiny_tree) == [["errors", "nn"], ["training"], ["shop"], [], [CLI]]
    assert upward_arrows(arrows, tiny_tree) == []


def test_an_import_that_points_up_is_found_and_named(tiny_tree):
    _write(tiny_tree, {"minitransformer/nn/io.py": "from minitransformer.training.trainer import fit\n"})
    arrows = import_arrows(tiny_tree)
    assert ("nn", "training") in arrows
    up = upward_arrows(arrows, tiny_tree)  # a cycle: one of its two arrows has to point up
    assert len(up) == 1 and up[0] in ("nn -> training", "training -> nn"), up
    assert offending_imports("nn", "training", tiny_tree) == [
        "minitransformer.nn.io -> minitransformer.training.trainer"]


def test_boxes_are_named_after_their_folders():
    assert box_of("minitransformer.nn.attention") == "nn"
    assert box_of("minitransformer.errors") == "errors"
    assert box_of("minitransformer.cli.options") == CLI
    assert box_of("minitransformer.__main__") == CLI
    assert box_of("tasks.qa.cli") == CLI  # a head's command module sits with the command line
    assert box_of("tasks.qa.model") == "qa"
    assert box_of("minitransformer") is None and box_of("tasks") is None


def test_the_heads_train_through_the_core():
    assert len(HEADS) >= 4 and all(is_head(head) for head in HEADS), HEADS
    for head in HEADS:
        assert (head, "training") in ARROWS, f"{head} does not import training"
        assert (head, "nn") in ARROWS, f"{head} does not import nn"
    assert ("training", "nn") in ARROWS
    assert (CLI, "demo") in ARROWS


def test_the_teaching_core_imports_nothing_and_sits_at_the_bottom():
    assert [arrow for arrow in ARROWS if arrow[0] == "nn"] == []
    assert "nn" in ROWS[0]
    assert ROWS[-1] == [CLI]


def test_every_arrow_between_core_boxes_points_down():
    row = row_of(ROWS)
    core = {box for r in ROWS[:-3] for box in r}
    assert all(row[head] > row[box] for head in HEADS for box in core)
    up = [arrow for arrow in upward_arrows(ARROWS) if arrow.split(" -> ")[0] in core]
    assert up == [], [offending_imports(*arrow.split(" -> ")) for arrow in up]
