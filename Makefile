# Two commands do all the set-up: `make run` and `make test` create the virtual environment from
# the pinned requirements.txt the first time (and again whenever requirements.txt changes).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# Stage commands in dvc.yaml call `python`: the venv's must come first on PATH.
export PATH := $(abspath $(BIN)):$(PATH)

# A YAML file of params.yaml overrides, run as a `dvc exp run -S ...` experiment,
# e.g. PROFILE=profiles/seed-bert-base.yaml (the seed notebook's setting: the Hub and bert-base-uncased).
PROFILE ?=

.PHONY: help setup run cv sweep s3-server test test-fast lint format experiments clean-venv
.DEFAULT_GOAL := help

help:  ## this list
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z0-9-]+):.*## /\1\t/' | expand -t 14

setup: $(VENV)/.installed  ## the virtual environment .venv from the pinned requirements.txt (the other targets run it)

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

run: setup  ## the whole pipeline: params.yaml's defaults (shipped data, packaged MiniLM), or PROFILE's overrides
	$(BIN)/python -m hatespeech.workflow.preflight $(if $(PROFILE),--profile "$(PROFILE)")
ifeq ($(strip $(PROFILE)),)
	dvc repro
else
	args=$$($(BIN)/python -m hatespeech.workflow.overrides "$(PROFILE)") && eval "dvc exp run $$args"
endif

cv: setup  ## k-fold cross-validation of both models (cv/pipeline.yaml, settings in cv/params.yaml): cv/metrics.json
	cp cv/pipeline.yaml cv/dvc.yaml
	@# .dvc/config's autostage would stage cv/dvc.lock in git: unstaged, run or fail, since main commits no CV lock.
	dvc repro cv/dvc.yaml; status=$$?; git reset -q -- cv/dvc.lock cv/dvc.yaml 2>/dev/null || true; exit $$status

# The experiments of a sweep file, queued and run one at a time in the background (`dvc queue`).
SWEEP ?= sweep.yaml

sweep: setup  ## queue SWEEP's experiments (dvc exp run --queue) and start a worker; compare: make experiments SORT=val_f1_macro
	$(BIN)/python -m hatespeech.workflow.sweep "$(SWEEP)"

# Where `make s3-server` listens (127.0.0.1 only) and keeps its objects and generated credentials.
S3_PORT ?= 9000
S3_DIR ?= ~/.cache/hatespeech-s3

s3-server: setup  ## a real S3 server (rclone) on 127.0.0.1:S3_PORT for the team workflow; prints its dvc remote lines
	$(BIN)/python -m hatespeech.workflow.s3_server --port $(S3_PORT) --dir $(S3_DIR)

# pytest-xdist workers (docs/tests.md has the timings; 0 runs the tests in this process). `make test`: one more than
# the usable cores, since the suite's tests spend much of their time waiting on process start-up, DVC and servers.
# `make test-fast`: one per core (none on one core), since its tests only compute and each worker imports the suite.
CORES := $(shell $(PYTHON) -c 'import os; print(len(os.sched_getaffinity(0)))' 2>/dev/null || echo 2)
WORKERS ?= $(shell echo $$(($(CORES) + 1)))
FAST_WORKERS ?= $(shell [ $(CORES) -gt 1 ] && echo $(CORES) || echo 0)

test: setup  ## the whole test suite, offline, on a tiny model the tests build (what CI runs)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -n $(WORKERS) --dist loadgroup

test-fast: setup  ## the inner loop (under a minute): every test but the e2e (dvc in a temporary repo) and slow ones
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -n $(FAST_WORKERS) --dist loadgroup -m "not e2e and not slow"

lint: setup  ## ruff (lint and format) and mypy, as CI runs them
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup  ## ruff: fix what it can (imports, style) and format the code in place
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# A metric to order `make experiments` by, best first: val_f1_macro, accuracy, f1_macro, f1_hate, suite, disguised.
SORT ?=

experiments: setup  ## dvc exp show in 120 columns: changed params, validation macro F1, test accuracy, macro and hate F1, functional suite
	$(BIN)/python -m hatespeech.workflow.experiments $(if $(SORT),--sort-by "$(SORT)")

clean-venv:
	rm -rf $(VENV)
