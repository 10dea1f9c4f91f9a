"""The model directory is the one contract between training and every consumer: a model trained on texts
truncated at tokenize.max_length is served, exported and piped with that length; default paths agree with dvc.yaml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from helpers import ROOT, copy_project, run_script, stage_command

from hatespeech import paths

LONG_TEXT = " ".join(["sunny garden coffee"] * 60)  # 180 words: past 64 tokens, and past the tiny BERT's 128


@pytest.mark.slow  # the tokenize and train stages as processes
def test_a_model_trained_with_max_length_64_is_served_with_64(staged_project: Path, tmp_path: Path):
    from transformers import pipeline

    from hatespeech.model.inference import Classifier
    from hatespeech.service.main import create_app
    from hatespeech.service.settings import Settings

    project = copy_project(staged_project, tmp_path / "p", train={"epochs": 1}, tokenize={"max_length": 64})
    for stage in ("tokenize_splits", "train"):
        result = run_script(project, *stage_command(stage))
        assert result.returncode == 0, result.stderr
    model_dir = project / "models/trained"  # the train stage's output (the card stage publishes it as models/model)
    assert json.loads((project / "metrics" / "token_lengths.json").read_text())["max_length"] == 64
    assert json.loads((model_dir / "tokenizer_config.json").read_text())["model_max_length"] == 64

    classifier = Classifier(model_dir)
    assert classifier.max_length == 64
    encoded = classifier.tokenizer([LONG_TEXT], truncation=True, max_length=classifier.max_length)
    assert len(encoded["input_ids"][0]) == 64

    # transformers.pipeline reads the same limit: the long text is truncated at 64, not rejected at 128.
    classify = pipeline("text-classification", model=str(model_dir), tokenizer=str(model_dir), device="cpu")
    assert classify.tokenizer.model_max_length == 64
    assert classify(LONG_TEXT, truncation=True)[0]["label"] in classifier.labels

    config = Settings(model_dir=str(model_dir), metrics=str(tmp_path / "none.json"))
    with TestClient(create_app(config, classifier)) as client:
        assert client.get("/model").json()["max_length"] == 64
        answer = client.post("/predict", json={"texts": [LONG_TEXT]})
        assert answer.status_code == 200 and answer.json()["predictions"][0]["label"] in classifier.labels


def test_default_paths_are_where_dvc_yaml_writes():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    outs = {str(next(iter(o)) if isinstance(o, dict) else o) for s in stages.values() for o in s.get("outs", [])}
    metrics = {str(next(iter(m))) for s in stages.values() for m in s.get("metrics", [])}
    assert paths.MODEL_DIR in outs and paths.ONNX_DIR in outs
    assert paths.TEST_METRICS in metrics
    assert f"--out {paths.MODEL_DIR}" in stages["card"]["cmd"]  # the published model: trained + its card
