# Two entry points for a fresh machine: `make demo` and `make test`.
# Each creates .venv when needed and installs what it needs from pyproject.toml.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[local]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev,cdk]'
	touch $@ $(VENV)/.installed

.PHONY: demo test lint bench clean
demo: $(VENV)/.installed
	$(BIN)/auto-lambda demo

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -q -p no:cacheprovider

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(VENV)/.installed-test
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/state_machine.py
	$(BIN)/python bench/build.py

clean:
	rm -rf .auto-lambda .pytest_cache .mypy_cache .ruff_cache
