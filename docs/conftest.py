"""pytest settings for running the documentation's code blocks.

    .venv/bin/pytest -q -p no:cacheprovider --markdown-docs docs/

The pages are rendered by Material for MkDocs (pymdownx.superfences), where a fence that carries
options is written in braces: ```` ```{.python continuation} ```` continues the page's previous
block and ```` ```{.python notest} ```` is shown but not run. pytest-markdown-docs reads that
form only with ``--markdown-docs-syntax=superfences``; this conftest makes it the default for
everything under ``docs/`` so the plain command above runs every block.
"""


def pytest_configure(config):
    if getattr(config.option, "markdowndocs_syntax", None) == "default":
        config.option.markdowndocs_syntax = "superfences"


def pytest_sessionstart(session):
    # The examples use tiny tensors: one thread is as fast, and much faster on a busy machine.
    if getattr(session.config.option, "markdowndocs", False):
        import torch

        torch.set_num_threads(1)
