"""Fixtures for running the documentation's pages.

The tutorial ``docs/tutorials/pretrained.md`` reads the folders ``gpt2/`` and
``bert-base-chinese/`` that its download command puts in the current folder. Here it runs in a
temporary folder where they are small random checkpoints with the same files
(:func:`tests.interop.hf_checkpoints.write_tutorial_folders`), built once per session; without
``transformers`` and ``tokenizers`` (the ``dev`` extra) the page is skipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest

PRETRAINED_PAGE = "tutorials/pretrained.md"


@pytest.fixture(scope="session")
def tutorial_checkpoints(tmp_path_factory) -> Path:
    pytest.importorskip("transformers")
    pytest.importorskip("tokenizers")
    from tests.interop.hf_checkpoints import write_tutorial_folders

    return write_tutorial_folders(tmp_path_factory.mktemp("pretrained"))


@pytest.fixture(autouse=True)
def pretrained_page_folder(request, monkeypatch):
    """Run the pretrained-models page inside the folder of small checkpoints."""
    callspec = getattr(request.node, "callspec", None)
    page = callspec.params.get("page") if callspec is not None else None
    if isinstance(page, Path) and page.as_posix().endswith(PRETRAINED_PAGE):
        monkeypatch.chdir(request.getfixturevalue("tutorial_checkpoints"))
