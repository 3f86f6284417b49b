# Two commands for a fresh machine:
#   make demo   set up .venv, make demo data for a regency, run one cycle
#   make test   set up .venv (with test tools), run every test
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo
DEMO_OPDS ?= 8
WORKERS ?= auto

.PHONY: demo test test-fast setup setup-dev bench bench-sync bench-scale soak clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# the checkout on the venv's path: `.venv/bin/python -m sheets_sync` works from any folder
$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/python -c "import sysconfig, pathlib; pathlib.Path(sysconfig.get_paths()['purelib'], 'sheets_sync_checkout.pth').write_text('$(CURDIR)\n')"
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
	@echo ""
	@echo "Selesai. Buka dengan LibreOffice/Excel:"
	@echo "  $(DEMO_DIR)/data/master.xlsx   yang dilihat Inspektorat: Rekap, Masalah, tab per formulir"
	@echo "  $(DEMO_DIR)/data/DINKES.xlsx   yang dilihat satu OPD: Petunjuk, lalu Status/Keterangan di kanan dan ringkasan di baris 1"
	@echo "  $(DEMO_DIR)/outbox/            e-mail pengingat (.eml) yang akan dikirim"

# every test, in parallel (one worker per core), the 10 slowest listed at the end
test: setup-dev
	$(BIN)/python -m pytest -q -n $(WORKERS) --dist load --durations=10 $(PYTEST_ARGS)

# the inner loop: unit tests only (pure core, no cycles or servers), well under 30 s
test-fast: setup-dev
	$(BIN)/python -m pytest -q -n $(WORKERS) -m unit $(PYTEST_ARGS)

soak: setup-dev   # the long fault suite: 200 kills per backend, more OPDs (docs/reliability.md)
	SOAK=1 $(BIN)/python -m pytest -q tests/reliability $(PYTEST_ARGS)

bench: setup-dev
	$(BIN)/python benchmarks/validate_bench.py

bench-sync: setup-dev
	$(BIN)/python benchmarks/sync_bench.py

bench-scale: setup-dev   # city scale, ~12 min on 2 cores; ARGS="--quick" for a smaller run
	$(BIN)/python benchmarks/scale_bench.py $(ARGS)

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache
