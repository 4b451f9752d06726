# minitransformer: every target installs what it needs first, so a fresh clone only needs
#   make demo    # train the models on built-in data and show them working
#   make test    # run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONSTRAINTS := requirements/constraints.txt
STAMP := $(VENV)/.installed
export PYTHONHASHSEED := 0
export NO_MKDOCS_2_WARNING := 1

.PHONY: install test lint check bench bench-quick demo docs docs-serve figures check-exercises \
	browser-check notebooks clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c $(CONSTRAINTS) setuptools
	$(BIN)/pip install --quiet --disable-pip-version-check -c $(CONSTRAINTS) \
		--no-build-isolation -e ".[dev,docs,plot]"
	touch $(STAMP)

install: $(STAMP)

test: install
	$(BIN)/python -m pytest -q -m "not browser"

lint: install
	$(BIN)/ruff check minitransformer tasks tests benchmarks

check: lint test

bench: install
	$(BIN)/python benchmarks/run_all.py

bench-quick: install
	$(BIN)/python benchmarks/run_all.py --quick

demo: install
	$(BIN)/python -m minitransformer demo

docs: install
	$(BIN)/mkdocs build --strict

# the site and the demo report in headless Chromium (tests/browser/): Debian's chromium package is
# installed first when no browser is found (apt-get: needs root, or sudo)
browser-check: docs
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }
	MINITRANSFORMER_REQUIRE_BROWSER=1 MINITRANSFORMER_SITE=site \
		$(BIN)/python -m pytest -q -p no:cacheprovider -m browser tests/browser

docs-serve: install
	$(BIN)/mkdocs serve

# make figures FIGURES=architecture draws only the figures named (see docs/make_figures.py)
figures: install
	$(BIN)/python docs/make_figures.py $(FIGURES)

# the tour and the task tutorials as Jupyter notebooks, made from their pages (docs/hooks/notebooks.py)
notebooks:
	$(PYTHON) docs/hooks/notebooks.py --out notebooks

check-exercises: install
	$(BIN)/python -m minitransformer.exercises.selfcheck

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis site demo-report notebooks build/browser-check
