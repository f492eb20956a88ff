# Two commands set everything up: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test test-all lint bench experiments clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# PyTorch first, pinned: the CPU build lies on local disk; an unpinned torch can pull a CUDA build.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q 'torch==2.13.0'
	$(BIN)/pip install -q -e '.[all,test,lint]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/difflab compare

test: $(STAMP)
	$(BIN)/python -m pytest

# The house rules: ruff, and import-linter's layers and no-cycles contracts (pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check difflab nets experiments tests
	$(BIN)/lint-imports --no-cache

test-all: $(STAMP)
	$(BIN)/python -m pytest -m ''

# every speed benchmark in one run (experiments/bench.py lists the sections)
bench: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m difflab_experiments.bench

bench-compiled: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m difflab_experiments.bench_compiled

experiments: $(STAMP)
	$(BIN)/python -m difflab_experiments.refresh_results

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
