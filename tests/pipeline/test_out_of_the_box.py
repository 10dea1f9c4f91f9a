"""`make run` on a fresh clone with no Hub access: the default params resolve offline, and the Makefile's
path runs end to end on a slice of the shipped data with the packaged encoder."""

from __future__ import annotations

import json
import re
import time

import pytest
from helpers import ROOT, STAGES, dvc, init_repo, make_project, make_target, ran_stages, run

from hatespeech import LABELS
from hatespeech.config import load_params
from hatespeech.data.sources import SHIPPED_DATA, class_counts, load_source
from hatespeech.model.loading import DEFAULT_CHECKPOINT, check_checkpoint, load_tokenizer

PARAMS = load_params(ROOT / "params.yaml")


def test_defaults_name_the_shipped_data_and_the_packaged_model():
    assert PARAMS["download"]["source"] == SHIPPED_DATA
    assert PARAMS["model"]["checkpoint"] == DEFAULT_CHECKPOINT
    assert not PARAMS["download"]["max_rows"]  # make run trains on every row


def test_shipped_data_is_the_documented_copy():
    loaded = load_source(str(ROOT / SHIPPED_DATA))
    # The counts data/hate_speech_offensive/README.md documents, and its uncompressed sha256.
    assert len(loaded.frame) == 21_067
    assert class_counts(loaded.frame["label"]) == {"hate_speech": 1216, "offensive_language": 16312, "neither": 3539}
    assert loaded.source_sha256 == "d9ab3315a1968b99e87491a0b14735de47216d45ecf2cb234e4115808546b009"
    assert loaded.source_sha256 in (ROOT / "data/hate_speech_offensive/README.md").read_text()
    assert "MIT License" in (ROOT / "data/hate_speech_offensive/LICENSE").read_text()


def test_packaged_model_resolves_to_a_bert_directory_offline():
    from transformers import AutoConfig

    directory = check_checkpoint(DEFAULT_CHECKPOINT)
    assert "site-packages" in directory or "dist-packages" in directory
    assert AutoConfig.from_pretrained(directory).model_type == "bert"
    tokenizer = load_tokenizer(DEFAULT_CHECKPOINT)
    assert tokenizer.is_fast and tokenizer.vocab_size == 30522  # bert-base-uncased's WordPiece vocabulary
    assert tokenizer.tokenize("Hello World") == ["hello", "world"]  # uncased


def test_a_missing_package_is_a_clear_error():
    from hatespeech.model.loading import ModelError

    with pytest.raises(ModelError, match="no installed Python package 'no_such_package_xyz'"):
        check_checkpoint("package:no_such_package_xyz/model")
    with pytest.raises(ModelError, match="model directory not found"):
        check_checkpoint("package:hatespeech/no-model-here")


def test_readme_commands_are_the_makefiles_targets():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), flags=re.MULTILINE))
    first_block = re.search(r"```bash\n(.*?)```", readme, flags=re.DOTALL).group(1)
    commands = re.findall(r"^make ([\w-]+)", first_block, flags=re.MULTILINE)
    assert commands[:2] == ["run", "test"], first_block
    assert set(commands) <= targets
    assert "make test" in (ROOT / ".ci/run").read_text()  # CI runs the README's test command
    assert (
        "make run PROFILE=profiles/seed-bert-base.yaml" in readme and (ROOT / "profiles/seed-bert-base.yaml").is_file()
    )


@pytest.mark.slow  # make run's processes
def test_seed_profile_without_the_hub_stops_in_seconds_with_one_line(tmp_path):
    project = make_project(tmp_path / "repo", PARAMS["download"]["source"], DEFAULT_CHECKPOINT, train={})
    init_repo(project)
    offline = {"HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0", "HF_ENDPOINT": "http://127.0.0.1:9"}
    started = time.perf_counter()
    result = run(make_target("run", "PROFILE=profiles/seed-bert-base.yaml"), cwd=project, check=False, env=offline)
    assert result.returncode != 0 and time.perf_counter() - started < 60
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "Hugging Face Hub (http://127.0.0.1:9) is unreachable" in errors[0]
    assert "Plain `make run`" in errors[0]  # the way back to the default
    assert ran_stages(result) == [] and not (project / "data/raw").exists()


@pytest.mark.slow
def test_make_run_trains_the_packaged_encoder_on_a_slice_of_the_shipped_data(tmp_path):
    """The default path of `make run` (shipped data, package: checkpoint) on 400 rows and one epoch."""
    train = {"epochs": 1, "warmup_steps": 0, "logging_steps": 10, "checkpoint_steps": 0}
    project = make_project(tmp_path / "repo", PARAMS["download"]["source"], DEFAULT_CHECKPOINT, train=train)
    params = (project / "params.yaml").read_text()
    (project / "params.yaml").write_text(params.replace("max_rows: null", "max_rows: 400"))
    init_repo(project)

    result = run(make_target("run"), cwd=project)
    assert "make run: dvc repro with params.yaml" in result.stdout
    assert f"data:   {SHIPPED_DATA} (21,067 rows, shipped with the repository)" in result.stdout
    assert sorted(ran_stages(result)) == sorted(STAGES)
    manifest = json.loads((project / "data/raw/manifest.json").read_text())
    assert manifest["source_rows"] == 21_067 and manifest["rows"] == 400
    assert min(manifest["class_counts"].values()) > 0  # stratified: every class is in the slice
    metadata = json.loads((project / "models/model/training_metadata.json").read_text())
    assert metadata["checkpoint"] == DEFAULT_CHECKPOINT  # machine-independent, as params.yaml names it
    metrics = json.loads((project / "metrics/test.json").read_text())
    assert metrics["examples"] > 0 and set(metrics["per_class"]) == set(LABELS)
    assert ran_stages(dvc(project, "repro")) == []
