# Two entry points, both self-contained on a fresh machine (see README.md).
PY ?= python3.11
VENV ?= .venv
BIN = $(VENV)/bin

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	# torch first: the pinned CPU build lies on this machine's disk; anything looser pulls CUDA.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'

demo: install
	$(BIN)/python -m synth_dagster.demo

test: install
	$(BIN)/python -m pytest -q

.PHONY: install demo test
