"""The documentation under docs/ runs: every ```python block of a page, in order, and the pages
agree with the exercise catalogue and the figures. The pages that are also notebooks (the tour
and the task tutorials, ``docs/hooks/notebooks.py``) run as notebooks, in test_notebooks.py.

The same blocks also run with the plugin the docs were written for::

    .venv/bin/pytest -q -p no:cacheprovider --markdown-docs docs/

Fence options follow pytest-markdown-docs in its "superfences" syntax (the one Material for
MkDocs renders): ```` ```{.python continuation} ```` continues the previous block's namespace,
```` ```{.python notest} ```` is not run, any other ```` ```python ```` block starts afresh.
Here each page is one test, and each block runs once (the plugin re-runs the earlier blocks of a
continuation). In a student copy of the course, a block that reaches an unsolved exercise raises
its ``NotImplementedError`` and the exercise plugin reports the page as blocked, not failed.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

markdown_it = pytest.importorskip("markdown_it")

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
PYTHON = {"python", "py", "python3"}


def _load_notebook_hook():
    """``docs/hooks/notebooks.py``, the hook that makes notebooks of some pages."""
    spec = importlib.util.spec_from_file_location("docs_hooks_notebooks", DOCS / "hooks" / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


notebook_hook = _load_notebook_hook()
#: pages that are also notebooks: where a Jupyter kernel can be started, their blocks run as
#: notebooks in test_notebooks.py (checked there to be these very blocks), not a second time here
RUN_AS_NOTEBOOKS = (set(notebook_hook.NOTEBOOKS)
                    if importlib.util.find_spec("nbclient") and importlib.util.find_spec("ipykernel")
                    else set())
PAGES_RUN_HERE = [page for page in PAGES if page.relative_to(DOCS).as_posix() not in RUN_AS_NOTEBOOKS]


def python_blocks(path: Path) -> list[tuple[int, str, bool]]:
    """``(first code line, source, continues the previous block)`` for every block to run."""
    tokens = markdown_it.MarkdownIt("commonmark").parse(path.read_text(encoding="utf-8"))
    blocks = []
    for token in tokens:
        if token.type != "fence" or not token.map:
            continue
        lang, options = notebook_hook.fence_info(token.info)
        if lang in PYTHON and "notest" not in options:
            blocks.append((token.map[0] + 1, token.content, "continuation" in options))
    return blocks



@pytest.mark.parametrize("page", PAGES_RUN_HERE, ids=[str(p.relative_to(DOCS)) for p in PAGES_RUN_HERE])
def test_page_code_blocks_run(page: Path, one_thread, capsys):
    namespace: dict = {}
    for line, source, continuation in python_blocks(page):
        if not continuation:
            namespace = {"__name__": "__docs__"}
        # blank lines in front make tracebacks point at the right line of the .md file
        code = compile("\n" * line + source, str(page), "exec")
        exec(code, namespace)


def test_every_exercise_has_its_section_on_its_page():
    from minitransformer.exercises.catalogue import EXERCISES

    root = DOCS.parent
    for exercise in EXERCISES:
        page = root / exercise.docs
        assert page.is_file(), f"exercise {exercise.id}: docs page {exercise.docs} is missing"
        text = page.read_text(encoding="utf-8")
        anchor = "{ #ex-" + exercise.id.replace(".", "-") + " }"
        assert f"## Exercise {exercise.id}" in text and anchor in text, (
            f"{exercise.docs}: no '## Exercise {exercise.id}: ... {anchor}' section")
        assert f"minitransformer exercises check {exercise.id}" in text
        index = (DOCS / "exercises" / "index.md").read_text(encoding="utf-8")
        assert f"[{exercise.id}](" in index, f"docs/exercises/index.md: exercise {exercise.id} not listed"


def test_figures_referenced_by_the_pages_exist_and_are_drawn_by_make_figures():
    source = (DOCS / "make_figures.py").read_text(encoding="utf-8")
    drawn = set(re.findall(r'^    "(\w+)": fig_\w+,$', source, flags=re.MULTILINE))
    used = set()
    for page in PAGES:
        for name in re.findall(r"assets/figures/([\w-]+)\.png", page.read_text(encoding="utf-8")):
            used.add(name)
            assert (DOCS / "assets" / "figures" / f"{name}.png").is_file(), (
                f"{page.relative_to(DOCS)}: figure {name}.png missing; run make figures")
    assert used <= drawn, f"figures used but not drawn by docs/make_figures.py: {sorted(used - drawn)}"
    assert drawn <= used, f"figures drawn but used by no page: {sorted(drawn - used)}"
