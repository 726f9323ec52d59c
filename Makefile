# The two commands of the README: `make report` builds everything, `make test` runs the tests.
# Each installs what is missing first: system packages (as root, through apt-get) and the .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSDEPS := $(VENV)/.sysdeps
CORES ?= 2
export PATH := $(abspath $(BIN)):$(PATH)
export MPLBACKEND := Agg
# Snakemake's settings (cores, rerun-incomplete, printshellcmds, ...) live in profiles/default/config.yaml;
# `make report CORES=4` still overrides the cores. On a cluster: see profiles/slurm/README.md.
PROFILE ?= profiles/default
SNAKEMAKE := $(BIN)/snakemake --workflow-profile $(PROFILE) $(if $(filter command line environment,$(origin CORES)),--cores $(CORES))

.PHONY: report test deps sysdeps figures data lint dag benchmark scheduled provenance preview proof clean

# critmet.build checks every input first (one-line messages), takes this folder's build lock (a build killed
# before needs no manual step; a build still running is named and left alone), and runs Snakemake tied to
# its own lifetime. `exec`: a kill of `make` reaches the build.
BUILD := exec $(BIN)/python -m critmet.build --cores $(CORES)

report: deps
	$(BUILD) all

data: deps
	$(BUILD) data

figures: deps
	$(BUILD) figures

test: deps
	$(BIN)/pytest -q

lint: deps
	$(BIN)/ruff check workflow tests benchmarks
	$(BIN)/ruff format --check workflow tests benchmarks
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules

dag: deps
	$(BIN)/snakemake -n --quiet rules

# A local server on 127.0.0.1 showing the HTML of both languages, following every save (critmet.preview).
preview: deps
	$(BIN)/python -m critmet.preview

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
# make turns every failure into exit 2: a scheduler should call `.venv/bin/python -m critmet.scheduled`
# itself to see its exit codes (0 published or no change, 1 build failed, 2 publishing failed, 3 busy).
scheduled: deps
	exec $(BIN)/python -m critmet.scheduled --cores $(CORES)

deps: $(SYSDEPS) $(STAMP)

# The system packages are checked again only when the package database or the list changes (a no-op
# `make report` spends no time in dpkg-query); `make sysdeps` checks them now.
sysdeps:
	@bash workflow/tools/install_system_deps.sh

$(SYSDEPS): workflow/tools/install_system_deps.sh $(wildcard /var/lib/dpkg/status)
	@bash workflow/tools/install_system_deps.sh
	@mkdir -p $(VENV) && touch $@

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

clean:
	rm -rf results/data results/figures results/report .snakemake
