# The two commands every new user runs: `make run` and `make test`.
# Both create .venv and install the project into it first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck install services chromium clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Start the service on the embedded default: SQLite, the built-in PBX simulator,
## demo data; web UI on http://127.0.0.1:8000
run: $(STAMP)
	$(BIN)/callcenter migrate
	$(BIN)/callcenter seed
	$(BIN)/callcenter serve

## Install everything the tests need, then lint, type-check and run the whole suite.
test: $(STAMP) chromium services lint typecheck
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

chromium:
	@bash scripts/ensure-chromium.sh

services:
	@bash scripts/ensure-services.sh

clean:
	rm -rf $(VENV) callcenter.db .pytest_cache .mypy_cache .ruff_cache
