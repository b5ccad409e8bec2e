# The two commands every new user runs: `make run` and `make test`.
# Both create .venv and install the project into it first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck install services chromium clean chaos

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

## The chaos suite in its full form (ten AMI cuts, three kill -9, 30 s without
## the database, stalled websockets, a flapping phone), then its summary table.
## `make test` runs the same scenarios in a short form.
chaos: $(STAMP) services
	CALLCENTER_CHAOS=full $(BIN)/pytest tests/chaos -p no:cacheprovider

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
