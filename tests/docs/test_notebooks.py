"""The notebooks made from the documentation pages (``docs/hooks/notebooks.py``) are the pages,
cell for cell, valid notebooks, and run in a Jupyter kernel, offline, on the CPU.

These pages' code blocks run here, as notebooks, and not a second time in ``test_docs.py``: the
notebook's code cells are checked to be exactly the blocks that test would run, in order.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.docs import test_docs
from tests.docs.test_docs import DOCS, python_blocks

nbformat = pytest.importorskip("nbformat")
notebooks = test_docs.notebook_hook
PAGES = sorted(notebooks.NOTEBOOKS)


def code_cells(notebook: dict) -> list[str]:
    return ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]


@pytest.mark.parametrize("page", PAGES)
def test_a_notebook_is_its_page_cell_for_cell(page):
    notebook = notebooks.page_to_notebook(page)
    nbformat.validate(nbformat.from_dict(notebook))  # nbformat 4.5, cell ids included
    blocks = [source.rstrip("\n") for _, source, _ in python_blocks(DOCS / page)]
    assert blocks, f"{page} has no Python block to run"
    assert code_cells(notebook) == blocks
    text = "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown")
    assert f"docs/{page}" in text                                   # says where it comes from
    assert not re.search(r"\]\((?!attachment:|\.\./docs/|https?:|#)", text), "a link that breaks in Jupyter"
    for cell in notebook["cells"]:
        for name in re.findall(r"\(attachment:([^)]+)\)", "".join(cell["source"])):
            assert name in cell.get("attachments", {}), f"{page}: picture {name} not embedded"


def test_the_writer_makes_the_same_files_as_the_site(tmp_path):
    """``make notebooks`` writes what the site serves: one .ipynb per page, valid JSON."""
    assert notebooks.main(["--out", str(tmp_path)]) == 0
    written = sorted(path.name for path in tmp_path.iterdir())
    assert written == sorted(f"{name}.ipynb" for name in notebooks.NOTEBOOKS.values())
    for page, name in notebooks.NOTEBOOKS.items():
        assert json.loads((tmp_path / f"{name}.ipynb").read_text(encoding="utf-8")) == \
            notebooks.page_to_notebook(page)


def test_splitting_keeps_shown_blocks_in_the_text_and_runs_the_others():
    page = ("# T\n\n!!! note \"Why\"\n    because\n\n```python\nx = 1\n```\n\n```{.python notest}\n"
            "y = 2\n```\n\n```bash\nmake test\n```\n\n```{.python continuation}\nprint(x)\n```\n")
    parts = notebooks.split_page(page)
    assert [kind for kind, _ in parts] == ["markdown", "code", "markdown", "code"]
    assert parts[1][1] == "x = 1" and parts[3][1] == "print(x)"
    assert "```python\ny = 2\n```" in parts[2][1] and "```bash\nmake test\n```" in parts[2][1]
    assert notebooks.plain_markdown(parts[0][1]).splitlines()[2:] == ["> **Why**", ">", "> because"]


@pytest.fixture
def kernel_env(monkeypatch):
    """The kernel inherits the environment: one thread, and the tree under test first on its path
    (in a course copy the kernel must run the student's code, not an installed package's)."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    monkeypatch.setenv("PYTHONPATH", str(DOCS.parent))


@pytest.mark.parametrize("page", PAGES)
def test_the_notebook_runs_in_a_kernel(page, tmp_path, kernel_env):
    """Every cell runs, in order, in a fresh ``python3`` kernel started in ``notebooks/``'s place."""
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.reads(notebooks.notebook_json(page), as_version=4)  # the .ipynb file's text
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    except CellExecutionError as error:
        # in a student copy, a cell that reaches an unsolved exercise: blocked, not failed
        if error.ename == "NotImplementedError" and error.evalue.startswith("Exercise "):
            raise NotImplementedError(error.evalue) from None
        raise
    ran = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in ran)
    assert not [o for cell in ran for o in cell.outputs if o.output_type == "error"]


def test_the_docs_test_leaves_these_pages_to_the_notebooks():
    """Each page's blocks run once: as a notebook here, or as a page in test_docs.py."""
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    assert test_docs.RUN_AS_NOTEBOOKS == set(PAGES)
    run_by_docs = {page.relative_to(DOCS).as_posix() for page in test_docs.PAGES_RUN_HERE}
    assert run_by_docs.isdisjoint(PAGES)
    assert run_by_docs | set(PAGES) == {page.relative_to(DOCS).as_posix() for page in test_docs.PAGES}
