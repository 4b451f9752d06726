"""The documentation site and the demo report, as a reader sees them in a real browser.

The site is built (``mkdocs build --strict``), served on 127.0.0.1 and every page is opened in
headless Chromium, with every host name but 127.0.0.1 unresolvable, so nothing can come from
outside the site. On every page: no request fails or leaves the site, the console shows no
error, every image loaded, every formula is typeset (no raw TeX such as ``\\(`` or ``\\frac``
in the visible text, no TeX error box, no formula of zero width). Search finds "softmax" and
"注意力". The demo report's ``index.html`` passes the same checks and shows no stray backticks.
Screenshots of a concept page, a tutorial and an exercise page land in ``build/browser-check/``.

    make browser-check    # installs Debian's chromium if missing, builds the site, runs this

Without a browser the tests skip (saying so), unless ``MINITRANSFORMER_REQUIRE_BROWSER=1``
(set by ``make browser-check``, which CI runs), where a missing browser is a failure.
``MINITRANSFORMER_SITE`` and ``MINITRANSFORMER_DEMO_REPORT`` name an already built site or
demo report folder; by default both are built here, in a temporary folder (about two minutes).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.chromium import Chromium, Page, find_chromium

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "build" / "browser-check"
#: the pages photographed for a person to look at: a concept, a tutorial and an exercise page
PHOTOGRAPHED = {"concepts/attention/": "concept", "tasks/recommendation/": "tutorial",
                "exercises/attention/": "exercise"}

# JavaScript run in the pages --------------------------------------------------------------------

#: resolves once MathJax (if the page has it) has typeset the page and its fonts have loaded
MATHS_DONE = """(window.MathJax && MathJax.startup && MathJax.startup.promise
                 ? MathJax.startup.promise : Promise.resolve()).then(() => document.fonts.ready)
                 .then(() => true)"""

#: the images that did not load ("src: why"), after asking lazy images to load now
BROKEN_IMAGES = """Promise.all([...document.images].map(img => {
    img.loading = "eager";
    return img.complete ? null : new Promise(done => { img.onload = img.onerror = done; });
})).then(() => [...document.images]
    .filter(img => !img.complete || img.naturalWidth === 0)
    .map(img => img.currentSrc || img.src))"""

#: visible text outside code whose characters match the regular expression PATTERN
VISIBLE_TEXT_MATCHING = """((pattern) => {
  const outside = new Set(["PRE", "CODE", "KBD", "SCRIPT", "STYLE", "NOSCRIPT", "TEXTAREA",
                           "MJX-CONTAINER"]);
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    let element = node.parentElement, inCode = false;
    for (let e = element; e; e = e.parentElement) inCode = inCode || outside.has(e.tagName);
    if (inCode || !element.checkVisibility({visibilityProperty: true})) continue;
    if (new RegExp(pattern).test(node.textContent)) found.push(node.textContent.trim().slice(0, 100));
  }
  return found;
})(PATTERN)"""

#: raw TeX a reader should never see: delimiters, a macro such as \\frac, display dollars
RAW_TEX = r"\\[()\[\]]|\\[A-Za-z]{2,}|\$\$"

#: formulas that failed: TeX errors, or a typeset formula drawn with no width
BAD_FORMULAS = """[...document.querySelectorAll("mjx-merror")].map(e => "TeX error: " + e.textContent)
  .concat([...document.querySelectorAll("mjx-container")]
    .filter(e => e.checkVisibility() && e.getBoundingClientRect().width === 0)
    .map(e => "formula of zero width: " + (e.closest("[id]") || {id: "?"}).id))"""


def visible_text_matching(page: Page, pattern: str) -> list[str]:
    """Visible text nodes outside code that match ``pattern`` (a JavaScript regular expression)."""
    return page.evaluate(VISIBLE_TEXT_MATCHING.replace("PATTERN", repr(pattern)))


# Fixtures ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def chromium(tmp_path_factory) -> Iterator[Chromium]:
    binary = find_chromium()
    if binary is None:
        message = ("no Chromium found (looked for chromium, chromium-browser, google-chrome; "
                   "CHROMIUM=PATH names one): 'make browser-check' installs Debian's chromium")
        if os.environ.get("MINITRANSFORMER_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    with Chromium.start(binary, tmp_path_factory.mktemp("chromium-profile")) as browser:
        yield browser


@pytest.fixture(scope="module")
def page(chromium) -> Page:
    return chromium.new_page()


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1; yields the base URL (ending in ``/``)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=folder))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def site(chromium, tmp_path_factory) -> Iterator[tuple[Path, str]]:
    """``(site folder, base URL)``: the built site, served."""
    folder = os.environ.get("MINITRANSFORMER_SITE")
    if folder:
        folder = Path(folder).resolve()
        assert (folder / "index.html").is_file(), f"MINITRANSFORMER_SITE={folder}: no index.html"
    else:
        folder = tmp_path_factory.mktemp("site")
        mkdocs = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(folder)]
        built = subprocess.run(mkdocs, cwd=REPO, capture_output=True, text=True,
                               env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
        assert built.returncode == 0, f"mkdocs build failed:\n{built.stderr[-3000:]}"
    with serve(folder) as base:
        yield folder, base


@pytest.fixture(scope="module")
def demo_report(chromium, tmp_path_factory) -> Iterator[str]:
    """The base URL of a served demo report (``minitransformer demo --quick``)."""
    folder = os.environ.get("MINITRANSFORMER_DEMO_REPORT")
    if folder:
        folder = Path(folder).resolve()
    else:
        folder = tmp_path_factory.mktemp("demo-report")
        demo = [sys.executable, "-m", "minitransformer", "demo", "--quick", "--out", str(folder)]
        ran = subprocess.run(demo, cwd=folder, capture_output=True, text=True)
        assert ran.returncode == 0, f"the quick demo failed:\n{ran.stdout[-2000:]}{ran.stderr[-2000:]}"
    assert (folder / "index.html").is_file(), f"{folder}: no index.html"
    with serve(folder) as base:
        yield base


def site_pages(folder: Path) -> list[str]:
    """Every page of the built site as a URL path (``concepts/attention/``), 404 page excluded."""
    pages = []
    for html in sorted(folder.rglob("index.html")):
        relative = html.parent.relative_to(folder).as_posix()
        if not relative.startswith(("javascripts", "assets", "search")):
            pages.append("" if relative == "." else relative + "/")
    return pages


def problems_of(page: Page, url: str, base: str) -> list[str]:
    """Everything a reader would notice is wrong with ``url``: one line per problem."""
    report = page.open(url)
    page.evaluate(MATHS_DONE, timeout=60)
    broken = page.evaluate(BROKEN_IMAGES, timeout=60)
    report = page.report()  # again: fonts and images have been asked for since the load event
    outside = [u for u in report.requests if not u.startswith((base, "data:", "blob:", "about:"))]
    return ([f"request failed: {f}" for f in report.failed]
            + [f"request to outside the site: {u}" for u in outside]
            + report.console_errors
            + [f"image not loaded: {src}" for src in broken]
            + [f"raw TeX: {text!r}" for text in visible_text_matching(page, RAW_TEX)]
            + page.evaluate(BAD_FORMULAS))


# Tests ------------------------------------------------------------------------------------------

def test_every_page_loads_whole_offline_with_its_maths_typeset(site, page):
    folder, base = site
    pages = site_pages(folder)
    assert len(pages) >= 30, f"only {len(pages)} pages found in {folder}"
    assert "concepts/attention/" in pages and "zh/quickstart/" in pages
    problems = {}
    for path in pages:
        found = problems_of(page, base + path, base)
        if found:
            problems[path or "/"] = found
        if path in PHOTOGRAPHED:
            page.screenshot(SCREENSHOTS / f"{PHOTOGRAPHED[path]}-{path.strip('/').replace('/', '-')}.png")
    assert not problems, "\n".join(f"{path}: {line}" for path, lines in problems.items() for line in lines)


def test_formulas_are_typeset_in_the_text_and_in_the_table_of_contents(site, page):
    """The attention page's formulas become MathJax output, its heading's formula too, and the
    table of contents shows that heading's formula typeset, not as TeX."""
    folder, base = site
    page.open(base + "concepts/attention/")
    page.evaluate(MATHS_DONE, timeout=60)
    assert page.evaluate("document.querySelectorAll('.md-content mjx-container').length") >= 10
    toc_maths = page.evaluate("""[...document.querySelectorAll('.md-sidebar--secondary .md-nav__link')]
        .filter(a => a.textContent.includes('Why divide by'))
        .map(a => a.querySelectorAll('mjx-container').length)""")
    assert toc_maths and all(count == 1 for count in toc_maths), toc_maths


@pytest.mark.parametrize("query, expected_page", [("softmax", "concepts/attention/"),
                                                  ("注意力", "zh/quickstart/")])
def test_search_finds_pages_offline(site, page, query, expected_page):
    folder, base = site
    page.open(base)
    page.evaluate("""(() => {
        document.querySelector('[data-md-toggle="search"]').checked = true;
        document.querySelector('.md-search__input').focus(); })()""")
    page.type_text(query)
    links = page.evaluate("""new Promise((done, fail) => {
        const start = Date.now();
        const poll = () => {
          const links = [...document.querySelectorAll('.md-search-result__item a')].map(a => a.href);
          if (links.length) done(links);
          else if (Date.now() - start > 20000) done([]);
          else setTimeout(poll, 100);
        };
        poll(); })""", timeout=30)
    assert links, f"search for {query!r} found nothing"
    assert any(link.startswith(base + expected_page) for link in links), (
        f"search for {query!r} did not list {expected_page}: {links[:5]}")
    assert not visible_text_matching(page, RAW_TEX), "raw TeX in the search results"
    assert page.report().console_errors == []


def test_demo_report_loads_whole_with_no_stray_markup(demo_report, page):
    problems = problems_of(page, demo_report + "index.html", demo_report)
    assert page.evaluate("document.images.length") >= 8, "the demo report shows too few pictures"
    problems += [f"stray backtick: {text!r}" for text in visible_text_matching(page, "`")]
    assert not problems, "\n".join(problems)
