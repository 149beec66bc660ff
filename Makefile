# Two entry points for a fresh machine: `make demo` and `make test`.
# Each creates .venv when needed and installs what it needs from pyproject.toml, with the
# development tools (devtools/: the local stack, the fault proxy, the simulator) beside it.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml devtools/pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e . -e './devtools[local]'
	touch $@

$(VENV)/.installed-test: pyproject.toml devtools/pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev,cdk]' -e './devtools[local,sim]'
	touch $@ $(VENV)/.installed

# The suite runs in parallel (pytest-xdist). Much of a live-stack test's time is waiting
# (on leases, outages, workers and browsers), so more workers than cores pays: with 4 on
# 2 cores both stay busy nearly all the run. Tests that share a stack or a synth stay on
# one worker (tests/conftest.py: --dist loadgroup).
# `make check`'s tests wait on nothing: there a fourth worker's start costs more than it
# gives.
TEST_WORKERS ?= 4
CHECK_WORKERS ?= 3
PYTEST_PARALLEL = $(BIN)/pytest -q -p no:cacheprovider --dist loadgroup --no-loadscope-reorder

.PHONY: demo demo-ui test check lint bench clean chromium screenshots
demo: $(VENV)/.installed
	$(BIN)/auto-lambda demo

# The demo with the web console: prints its address, keeps it up until Ctrl-C.
demo-ui: $(VENV)/.installed
	$(BIN)/auto-lambda demo --ui

# Debian's Chromium for the console's browser tests (Playwright drives it; it cannot
# download a browser of its own here). Installed when missing and we are root.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: the browser tests will be skipped (apt-get install chromium)"; fi; }

# The README's and docs' console screenshots, from the browser tests.
screenshots: $(VENV)/.installed-test chromium
	AUTO_LAMBDA_SCREENSHOTS=docs/img $(BIN)/pytest -q -p no:cacheprovider tests/browser

test: $(VENV)/.installed-test chromium
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(PYTEST_PARALLEL) -n $(TEST_WORKERS) --durations=10

# The quick loop while editing: the linters and the tests that need no live stack,
# browser, synth, registry or fresh interpreter (unit and property tests, 20 examples a
# property; `make test` runs the rest, and every property at full size). mypy, one
# process and ~25 s from a cold cache, runs beside the tests; either failing fails.
check: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	@$(BIN)/mypy & mypy=$$!; \
	HYPOTHESIS_PROFILE=quick $(PYTEST_PARALLEL) -n $(CHECK_WORKERS) \
	  -m "not slow and not registry and not cdk and not browser" tests/unit tests/property; \
	tests=$$?; wait $$mypy || exit 1; exit $$tests

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(VENV)/.installed-test
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/state_machine.py
	$(BIN)/python bench/build.py
	$(BIN)/python bench/ui.py

clean:
	rm -rf .auto-lambda .pytest_cache .mypy_cache .ruff_cache
