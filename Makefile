# reddot: `make run` starts a dev gateway on the embedded Valkey; `make test` runs every test; `make bench` the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
VENDOR := gateway/web/static/vendor
UPLOT := $(VENDOR)/node_modules/.package-lock.json

.PHONY: install run test test-counters mutation lint fmt typecheck bench clean

install: $(STAMP) $(UPLOT)

# Re-runs only when pyproject.toml changes: a no-op when the venv is up to date.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e . --group dev
	touch $(STAMP)

# The dashboard's charts (uPlot, pinned in the lock file) come from the npm registry; node_modules
# is not committed. npm ci re-runs only when package.json or the lock file changes.
$(UPLOT): $(VENDOR)/package.json $(VENDOR)/package-lock.json
	npm ci --prefix $(VENDOR) --no-audit --no-fund --silent
	touch $(UPLOT)

run: install
	$(BIN)/reddot serve --dev

# Debian packages first (installed when root with apt-get, else one clear line and a stop).
test: install
	bash .ci/system-packages
	$(BIN)/pytest

# The counting core alone, e.g. against another server: REDDOT_TEST_REDIS_URL=redis://… make test-counters
test-counters: install
	$(BIN)/pytest tests/counters

# ruff, then the import contracts of pyproject.toml (counters never imports the gateway, no cycles, ...).
# Hand-written mutants of the hub, outbox, pub/sub and Lua branches, each against its targeted tests
# (about 6 minutes; not part of make test). Exit 1 if a non-equivalent mutant survives.
mutation: install
	$(BIN)/python tests/mutation/run.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install
	$(BIN)/mypy

# The benchmark suite (not part of `make test`): about 8 minutes; writes docs/benchmarks.md and docs/img/*.png.
bench: install
	$(BIN)/python -m pip install -q -e . --group bench
	$(BIN)/python -m loadtest.bench

clean:
	rm -rf $(VENV) $(VENDOR)/node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis test-output
