"""A MkDocs hook: the site serves its own copy of MathJax, so formulas typeset with no network.

MathJax (the TeX renderer, Apache-2.0) comes from the ``django-static-mathjax`` package of the
``docs`` extra, which ships MathJax 3's browser build as package data (importable as
``mathjax``; it needs no Django). This hook adds the files a page uses to the build under
``javascripts/mathjax/``: the TeX-to-HTML bundle, its web fonts, the TeX extensions it loads on
first use of a macro, and the menu's accessibility components. ``mkdocs.yml`` loads
``javascripts/mathjax/tex-chtml.js`` after the settings in ``javascripts/mathjax.js``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

#: where the files land in the site
DEST = "javascripts/mathjax"
#: what the pages need from MathJax's ``es5`` folder: files, or folders copied whole
PARTS = ("tex-chtml.js", "output/chtml", "input/tex/extensions", "ui", "a11y", "sre")


def mathjax_folder() -> Path:
    """MathJax's ``es5`` folder inside the installed ``django-static-mathjax`` package."""
    spec = importlib.util.find_spec("mathjax")
    if spec is None or spec.origin is None:
        raise PluginError("offline maths: MathJax is not installed; run "
                          "'pip install minitransformer[docs]' (package django-static-mathjax)")
    es5 = Path(spec.origin).parent / "static" / "mathjax" / "es5"
    if not (es5 / "tex-chtml.js").is_file():
        raise PluginError(f"offline maths: {es5 / 'tex-chtml.js'} not found; "
                          "reinstall django-static-mathjax")
    return es5


def mathjax_files(es5: Path) -> list[tuple[str, Path]]:
    """``(path inside the site, file on disk)`` for every file of :data:`PARTS`, LICENSE first."""
    chosen = [("LICENSE", es5.parent / "LICENSE")]
    for part in PARTS:
        source = es5 / part
        paths = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
        chosen += [(path.relative_to(es5).as_posix(), path) for path in paths]
    return [(f"{DEST}/{name}", path) for name, path in chosen]


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add MathJax's files to the site (run by MkDocs before the pages are built)."""
    for uri, path in mathjax_files(mathjax_folder()):
        files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files
