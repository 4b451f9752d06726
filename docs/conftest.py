"""pytest settings for running the documentation's code blocks.

    .venv/bin/pytest -q -p no:cacheprovider --markdown-docs docs/

The pages are rendered by Material for MkDocs (pymdownx.superfences), where a fence that carries
options is written in braces: ```` ```{.python continuation} ```` continues the page's previous
block and ```` ```{.python notest} ```` is shown but not run. pytest-markdown-docs reads that
form only with ``--markdown-docs-syntax=superfences``; this conftest makes it the default for
everything under ``docs/`` so the plain command above runs every block.
"""

import sys
from pathlib import Path

import pytest


def pytest_configure(config):
    if getattr(config.option, "markdowndocs_syntax", None) == "default":
        config.option.markdowndocs_syntax = "superfences"


def pytest_sessionstart(session):
    # The examples use tiny tensors: one thread is as fast, and much faster on a busy machine.
    if getattr(session.config.option, "markdowndocs", False):
        import torch

        torch.set_num_threads(1)


@pytest.fixture(scope="session")
def pretrained_tutorial_checkpoints(tmp_path_factory):
    """``gpt2/`` and ``bert-base-chinese/``: small random checkpoints with the files that the
    download command of ``tutorials/pretrained.md`` fetches (built with the ``transformers``
    library; the page is skipped without it)."""
    pytest.importorskip("transformers")
    pytest.importorskip("tokenizers")
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)  # `tests` is a package of the repository
    from tests.interop.hf_checkpoints import write_tutorial_folders

    return write_tutorial_folders(tmp_path_factory.mktemp("pretrained"))


@pytest.fixture(autouse=True)
def pretrained_tutorial_folder(request, monkeypatch):
    """Run the blocks of ``tutorials/pretrained.md`` in the folder of those checkpoints."""
    if str(getattr(request.node, "path", "")).endswith("tutorials/pretrained.md"):
        monkeypatch.chdir(request.getfixturevalue("pretrained_tutorial_checkpoints"))
