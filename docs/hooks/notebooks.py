"""Jupyter notebooks made from documentation pages: the same text and code, cell for cell.

The home page's five-minute tour and the four task tutorials are also notebooks. They are not
written by hand and not committed: they are made from the pages whenever the site is built (this
file is a MkDocs hook; the site serves them under ``notebooks/`` and each page links to its
own), and by ``make notebooks`` (``python docs/hooks/notebooks.py``, into ``notebooks/``). So a
notebook cannot drift from its page.

How a page becomes a notebook:

* every ```` ```python ```` block that the tests run becomes a code cell, in order (all cells
  share one kernel, as a page's ``continuation`` blocks share a namespace);
* the text between them becomes Markdown cells; blocks that are only shown (```` ```bash ````,
  ```` ```text ````, ```` ```{.python notest} ````) stay in the text as code listings;
* pictures are embedded (cell attachments), links to other pages point to their Markdown files
  under ``docs/`` as seen from ``notebooks/``, MkDocs-only syntax is turned into plain Markdown.

Notebook format: nbformat 4.5 (checked by ``tests/docs/test_notebooks.py``, which also runs
every notebook in a Jupyter kernel).
"""

from __future__ import annotations

import argparse
import base64
import json
import posixpath
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]

#: page (relative to docs/) -> notebook name (without .ipynb)
NOTEBOOKS = {
    "index.md": "tour",
    "tasks/recommendation.md": "recommendation",
    "tasks/qa.md": "qa",
    "tasks/forecasting.md": "forecasting",
    "tasks/risk.md": "risk",
}
SITE_FOLDER = "notebooks"  # in the site, and in the repository for `make notebooks`
PYTHON = {"python", "py", "python3"}

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
LINK = re.compile(r"(?P<bang>!?)\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)\)")
ATTRIBUTES = re.compile(r"\s*\{\s*[#.][^}]*\}\s*$")  # a heading's { #anchor } or { .class }
ADMONITION = re.compile(r'^(?:!!!|\?\?\?\+?)\s+(?P<kind>\w+)(?:\s+"(?P<title>[^"]*)")?\s*$')


# ---------------------------------------------------------------------------- blocks of a page
def fence_info(info: str) -> tuple[str | None, set[str]]:
    """``("python", {"continuation"})`` from ``python continuation`` or ``{.python continuation}``."""
    info = info.strip()
    if info.startswith("{"):
        words = info.strip("{}").split()
        lang = next((w[1:] for w in words if w.startswith(".")), None)
        return lang, {w for w in words if not w.startswith(".")}
    words = info.split()
    return (words[0] if words else None), set(words[1:])


def split_page(text: str) -> list[tuple[str, str]]:
    """The page as ``[("markdown", text) | ("code", source)]``, in order.

    ``code`` parts are the Python blocks the tests run; every other fenced block stays inside
    the Markdown around it, its info string reduced to the language (``{.python notest}`` ->
    ``python``).
    """
    parts: list[tuple[str, str]] = []
    markdown: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            markdown.append(lines[i])
            i += 1
            continue
        fence, indent = opening["fence"], opening["indent"]
        closing = (j for j in range(i + 1, len(lines))  # a line of the same fence characters only
                   if lines[j].strip().startswith(fence) and not lines[j].strip().strip(fence[0]))
        end = next(closing, len(lines))
        body = [line[len(indent):] if line.startswith(indent) else line.lstrip() for line in lines[i + 1:end]]
        lang, options = fence_info(opening["info"])
        if lang in PYTHON and "notest" not in options and not indent:
            parts.append(("markdown", "\n".join(markdown)))
            parts.append(("code", "\n".join(body)))
            markdown = []
        else:
            shown = [f"{indent}{fence}{lang or ''}", *[indent + line for line in body], f"{indent}{fence}"]
            markdown += shown
        i = end + 1
    parts.append(("markdown", "\n".join(markdown)))
    return [(kind, content.strip("\n")) for kind, content in parts if content.strip()]


# ---------------------------------------------------------------------------- Markdown for Jupyter
def plain_markdown(text: str) -> str:
    """MkDocs-only syntax as plain Markdown: admonitions become block quotes, a heading's
    ``{ #anchor }`` is dropped."""
    out: list[str] = []
    quoting = False
    for line in text.splitlines():
        admonition = ADMONITION.match(line)
        if admonition:
            title = admonition["title"] or admonition["kind"].capitalize()
            out += [f"> **{title}**", ">"]
            quoting = True
            continue
        if quoting and (line.startswith("    ") or not line.strip()):
            out.append(f"> {line[4:]}".rstrip())
            continue
        quoting = False
        out.append(ATTRIBUTES.sub("", line) if line.startswith("#") else line)
    return "\n".join(out).strip("\n")


def relink(text: str, page: str, attachments: dict) -> str:
    """Links and pictures of ``page`` made to work from ``notebooks/`` in the repository.

    Pictures become cell attachments (added to ``attachments``); a link to another page points to
    its Markdown file under ``docs/``; links with a scheme or only an anchor are kept.
    """
    folder = posixpath.dirname(page)

    def one(match: re.Match) -> str:
        target = match["target"]
        if re.match(r"^[a-z][a-z0-9+.-]*:|^#|^/", target):
            return match[0]
        path, _, anchor = target.partition("#")
        inside_docs = posixpath.normpath(posixpath.join(folder, path))
        if match["bang"]:
            name = posixpath.basename(inside_docs)
            data = (DOCS / inside_docs).read_bytes()
            attachments[name] = {"image/png" if name.endswith(".png") else "image/svg+xml":
                                 base64.b64encode(data).decode("ascii")}
            return f"![{match['text']}](attachment:{name})"
        return f"[{match['text']}](../docs/{inside_docs}{'#' + anchor if anchor else ''})"

    return LINK.sub(one, text)


# ---------------------------------------------------------------------------- the notebook
def _source(text: str) -> list[str]:
    """nbformat's multi-line string: a list of lines, each but the last ending in a newline."""
    return text.splitlines(keepends=True)


def page_to_notebook(page: str) -> dict:
    """The notebook (nbformat 4.5, as a dict) of ``page``, a path relative to ``docs/``."""
    text = (DOCS / page).read_text(encoding="utf-8")
    intro = (f"*This notebook is the page `docs/{page}` of the minitransformer documentation, cell "
             f"for cell: its text, and its Python blocks as code cells (`make notebooks` makes it "
             f"again from the page). It runs offline, on the CPU, from the repository's "
             f"`notebooks/` folder, with the repository's environment as the kernel: "
             f"`.venv/bin/python -m ipykernel install --user --name minitransformer`, then choose "
             f"the kernel \"minitransformer\" in Jupyter.*")
    cells = [{"cell_type": "markdown", "metadata": {}, "source": _source(intro)}]
    for kind, content in split_page(text):
        if kind == "code":
            cells.append({"cell_type": "code", "execution_count": None, "metadata": {},
                          "outputs": [], "source": _source(content)})
            continue
        attachments: dict = {}
        source = relink(plain_markdown(content), page, attachments)
        cell = {"cell_type": "markdown", "metadata": {}, "source": _source(source)}
        if attachments:
            cell["attachments"] = attachments
        cells.append(cell)
    for number, cell in enumerate(cells):
        cell["id"] = f"{NOTEBOOKS.get(page, 'page')}-{number:03d}"
    return {"nbformat": 4, "nbformat_minor": 5, "cells": cells,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                        "language": "python"},
                         "language_info": {"name": "python"}}}


def notebook_json(page: str) -> str:
    """The notebook of ``page`` as the text of an ``.ipynb`` file."""
    return json.dumps(page_to_notebook(page), indent=1, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------- MkDocs hook
def on_files(files, config):
    """Add every notebook to the site, under ``notebooks/``."""
    from mkdocs.structure.files import File

    for page, name in NOTEBOOKS.items():
        files.append(File.generated(config, f"{SITE_FOLDER}/{name}.ipynb", content=notebook_json(page)))
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Under a page's title, a link to its notebook."""
    name = NOTEBOOKS.get(page.file.src_uri)
    if name is None:
        return markdown
    depth = page.file.src_uri.count("/")
    link = "../" * depth + f"{SITE_FOLDER}/{name}.ipynb"
    note = (f'!!! tip "This page as a Jupyter notebook"\n    [{name}.ipynb]({link}): the same text and '
            f"code, cell by cell. Save it in the repository's `notebooks/` folder (or run "
            f"`make notebooks`, which writes all of them there) and open it with the repository's "
            f"environment as the kernel; it runs offline on the CPU.\n")
    title, newline, rest = markdown.partition("\n")
    return f"{title}{newline}\n{note}\n{rest}" if title.startswith("# ") else f"{note}\n{markdown}"


# ---------------------------------------------------------------------------- make notebooks
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="write the documentation's notebooks")
    parser.add_argument("--out", type=Path, default=DOCS.parent / SITE_FOLDER,
                        help="folder to write them to (default: notebooks/)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for page, name in NOTEBOOKS.items():
        path = args.out / f"{name}.ipynb"
        path.write_text(notebook_json(page), encoding="utf-8")
        print(f"{path}  (from docs/{page})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
