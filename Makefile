# reddot: `make run` starts a dev gateway on the embedded Valkey; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test test-counters lint fmt typecheck bench clean

install: $(STAMP)

# Re-runs only when pyproject.toml changes: a no-op when the venv is up to date.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e . --group dev
	touch $(STAMP)

run: install
	$(BIN)/reddot serve --dev

test: install
	$(BIN)/pytest

# The counting core alone, e.g. against another server: REDDOT_TEST_REDIS_URL=redis://… make test-counters
test-counters: install
	$(BIN)/pytest tests/counters

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis test-output
