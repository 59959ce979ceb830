# The two commands of README.md: `make run` (set up, ingest + index the sample corpus, start the UI)
# and `make test` (set up, run the whole test suite). Everything else is a step of those, or a developer's
# loop: `make test-fast` (no model, about a minute) and `make lint` (ruff + mypy).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# the UI's port: make run PORT=7861
PORT ?= 7860
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: install browser run test test-fast lint index eval bench

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0   # the CPU wheel on disk, before anything pulls a CUDA build
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

browser:
	@bash scripts/install-browser.sh

index: install
	$(BIN)/govqa ingest data/reports

run: index
	$(BIN)/python ui.py --port $(PORT)

test: install browser
	$(BIN)/python -m pytest

test-fast: install  # no model, no browser; two pytest-xdist workers (one per core)
	$(BIN)/python -m pytest -m "not slow and not browser" -n 2

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

eval: index
	$(BIN)/govqa eval run

bench: index
	for f in bench/*.py; do $(BIN)/python $$f || exit 1; done
