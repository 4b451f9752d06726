// MathJax settings. pymdownx.arithmatex (generic mode) writes \( … \) inline and \[ … \] for
// display; MathJax itself is served by this site (docs/hooks/offline_maths.py), never fetched.
//
// The whole page is searched for those delimiters (code and pre blocks are skipped), not only
// arithmatex's spans: a heading's formula also reaches the table of contents, as plain text.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true
  },
  startup: {
    pageReady: () => MathJax.startup.defaultPageReady().then(typesetSearchResults)
  }
};

// Search results are drawn while the reader types: typeset each new batch of them too.
function typesetSearchResults() {
  const results = document.querySelector(".md-search-result__list");
  if (!results) return;
  new MutationObserver(() => MathJax.typesetPromise([results])).observe(results, { childList: true });
}

// Material's instant navigation (if switched on) swaps pages without a reload: typeset each new
// page. The first page is left to MathJax's own start-up: clearing its output cache after that
// typeset would drop the styles of the formulas already on the page.
if (typeof document$ !== "undefined") {
  let firstPage = true;
  document$.subscribe(() => {
    if (firstPage) {
      firstPage = false;
      return;
    }
    if (window.MathJax && MathJax.typesetPromise) {
      MathJax.startup.output.clearCache();
      MathJax.typesetClear();
      MathJax.texReset();
      MathJax.typesetPromise();
    }
  });
}
