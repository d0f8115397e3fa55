# Two entry points, both self-contained on a fresh machine (see README.md):
#   make demo   installs the package and materializes the demo code location
#   make test   installs the package with its test tools and runs the suite
PY ?= python3.11
VENV ?= .venv
BIN = $(VENV)/bin

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch first: the pinned CPU build lies on this machine's disk; anything looser pulls CUDA.
install-core: $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e .

install: install-core
	$(BIN)/pip install -q -e '.[test]'

# Browsers and emulators the tests drive: Debian's chromium + chromedriver (report and UI tests),
# Azurite from the npm registry (Azure storage) and bqemulator in its own venv (BigQuery). Best
# effort: their tests skip, saying why, without them.
test-tools:
	@bash .ci/test-tools

demo: install-core
	$(BIN)/python -m synth_dagster.demo

test: install test-tools
	BQEMULATOR_BIN=$(CURDIR)/.venv-bqemulator/bin/bqemulator $(BIN)/python -m pytest -q

.PHONY: install-core install test-tools demo test
