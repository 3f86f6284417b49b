# Two commands for a fresh machine:
#   make demo   set up .venv, make demo data for a regency, run one cycle
#   make test   set up .venv (with test tools), run every test
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo
DEMO_OPDS ?= 8

.PHONY: demo test setup setup-dev bench bench-sync soak clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.runtime
setup-dev: $(VENV)/.dev

demo: setup
	rm -rf $(DEMO_DIR)
	$(BIN)/python -m sheets_sync demo --opds $(DEMO_OPDS) --config-out $(DEMO_DIR)/settings.yaml
	$(BIN)/python jobs.py --once --config $(DEMO_DIR)/settings.yaml
	$(BIN)/python -m sheets_sync status --config $(DEMO_DIR)/settings.yaml
	$(BIN)/python -m sheets_sync remind --dry-run --config $(DEMO_DIR)/settings.yaml
	@echo "Buka $(DEMO_DIR)/data/master.xlsx (Rekap, Masalah) dan $(DEMO_DIR)/outbox/ (pengingat)."

test: setup-dev
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

soak: setup-dev   # the long fault suite: 200 kills per backend, more OPDs (docs/reliability.md)
	SOAK=1 $(BIN)/python -m pytest -q tests/reliability $(PYTEST_ARGS)

bench: setup-dev
	$(BIN)/python benchmarks/validate_bench.py

bench-sync: setup-dev
	$(BIN)/python benchmarks/sync_bench.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache
