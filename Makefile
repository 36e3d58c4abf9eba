# 支书助手 — every target sets up .venv by itself on a machine that has only Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CONFIG ?= config.toml
# Python keeps its bytecode (and pytest its rewritten tests) even where the machine sets
# PYTHONDONTWRITEBYTECODE: otherwise each test worker compiles every module again (~5 s each).
export PYTHONDONTWRITEBYTECODE :=

.PHONY: demo test test-crash test-restarts run bench bench-quick lint format clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m bot demo

test: $(STAMP) lint
	$(PY) -m pytest -q -n 4 --dist loadgroup -m "not crash and not restarts"

test-crash: $(STAMP)
	$(PY) -m pytest -q -n auto -m crash

# Alone: its CPU hog would slow whatever runs beside it.
test-restarts: $(STAMP)
	$(PY) -m pytest -q -m restarts

run: $(STAMP)
	$(PY) -m bot run --config $(CONFIG)

bench: $(STAMP)
	$(PY) -m benchmarks

bench-quick: $(STAMP)
	$(PY) -m benchmarks --quick

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
