# The two commands of the README: `make report` builds everything, `make test` runs the tests.
# Each installs what is missing first: system packages (as root, through apt-get) and the .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= 2
export PATH := $(abspath $(BIN)):$(PATH)
export MPLBACKEND := Agg
SNAKEMAKE := $(BIN)/snakemake --cores $(CORES) --printshellcmds --rerun-incomplete

.PHONY: report test deps sysdeps figures data lint dag benchmark scheduled provenance proof clean

report: deps
	$(SNAKEMAKE) all

data: deps
	$(SNAKEMAKE) data

figures: deps
	$(SNAKEMAKE) figures

test: deps
	$(BIN)/pytest -q

lint: deps
	$(BIN)/ruff check workflow tests benchmarks
	$(BIN)/ruff format --check workflow tests benchmarks
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules

dag: deps
	$(BIN)/snakemake -n --quiet rules

benchmark: deps
	$(BIN)/python benchmarks/run_benchmarks.py

# Snakemake's HTML provenance report: every figure with its caption in both languages, its source, and the
# rule, code and parameters that made it.
provenance: report
	$(BIN)/snakemake --report results/report/provenance.html

# Proof sheets: every page of both languages as PNG and one contact sheet per language, in results/proof/.
proof: report
	$(BIN)/python workflow/tools/proof.py --report results/report --out results/proof

# Unattended runs (cron, systemd timer, CI schedule): build, then publish an edition only if the PDFs changed.
scheduled: deps
	$(BIN)/python -m critmet.scheduled --cores $(CORES)

deps: sysdeps $(STAMP)

sysdeps:
	@bash workflow/tools/install_system_deps.sh

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

clean:
	rm -rf results/data results/figures results/report .snakemake
