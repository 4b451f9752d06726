# minitransformer: every target installs what it needs first, so a fresh clone only needs
#   make demo    # train the models on built-in data and show them working
#   make test    # run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONSTRAINTS := requirements/constraints.txt
STAMP := $(VENV)/.installed
export PYTHONHASHSEED := 0

.PHONY: install test lint check bench bench-quick demo clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c $(CONSTRAINTS) setuptools
	$(BIN)/pip install --quiet --disable-pip-version-check -c $(CONSTRAINTS) \
		--no-build-isolation -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check minitransformer tasks tests benchmarks

check: lint test

bench: install
	$(BIN)/python benchmarks/run_all.py

bench-quick: install
	$(BIN)/python benchmarks/run_all.py --quick

demo: install
	$(BIN)/python -m minitransformer demo

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis site demo-report
