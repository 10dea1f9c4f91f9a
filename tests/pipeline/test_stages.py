"""The stage scripts as DVC runs them: bad input gives a clear error, exit status 2 and no output files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import copy_project, make_project, run_script, set_params, stage_command

from hatespeech.testing import HEADER, make_rows, write_csv

# Each stage's script and arguments, exactly as its `cmd` in dvc.yaml gives them.
DOWNLOAD, SPLIT, AUGMENT, TOKENIZE = (
    stage_command(name) for name in ("download", "split", "augment", "tokenize_splits")
)


def files_under(project: Path, *folders: str) -> list[Path]:
    return [
        p for folder in folders if (project / folder).exists() for p in (project / folder).rglob("*") if p.is_file()
    ]


def bad_csv(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.csv"
    rows = make_rows(30)
    if kind == "missing_column":
        return write_csv(path, [r[:5] + r[6:] for r in rows], HEADER[:5] + HEADER[6:])
    if kind == "label_out_of_range":
        rows[4][5] = 3
    elif kind == "empty_text":
        rows[2][6] = "   "
    elif kind == "nan_text":
        rows[3][6] = ""
    elif kind == "empty_file":
        path.write_bytes(b"")
        return path
    write_csv(path, rows)
    if kind == "non_utf8":
        path.write_bytes(path.read_bytes().replace(b"coffee", b"caf\xe9", 1).replace(b"music", b"m\xfcsic", 1))
    return path


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing_column", "missing required column(s) class"),
        ("label_out_of_range", "found [3] in row(s) 5"),
        ("empty_text", "empty or missing tweet text in row(s) 3"),
        ("nan_text", "empty or missing tweet text in row(s) 4"),
        ("non_utf8", "is not valid UTF-8"),
        ("empty_file", "is empty"),
    ],
)
def test_download_rejects_bad_csv(tmp_path, kind, message):
    project = make_project(tmp_path / "p", str(bad_csv(tmp_path, kind)), "unused")
    result = run_script(project, *DOWNLOAD)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert files_under(project, "data/raw") == []


def test_download_with_unreachable_hub_fails_fast_with_a_hint(tmp_path):
    project = make_project(tmp_path / "p", "tdavidson/hate_speech_offensive", "unused")
    result = run_script(project, *DOWNLOAD)
    assert result.returncode == 2
    assert "could not load the dataset 'tdavidson/hate_speech_offensive'" in result.stderr
    assert "download.source" in result.stderr and "Plain `make run`" in result.stderr
    assert files_under(project, "data/raw") == []


def test_download_without_network_does_not_wait_for_retries(tmp_path):
    project = make_project(tmp_path / "p", "tdavidson/hate_speech_offensive", "unused")
    # Online mode, but the Hub endpoint is a closed local port: the probe must report it at once.
    env = {"HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0", "HF_ENDPOINT": "http://127.0.0.1:9"}
    result = run_script(project, *DOWNLOAD, env=env)
    assert result.returncode == 2
    assert "the Hugging Face Hub (http://127.0.0.1:9) is unreachable" in result.stderr
    assert "data/hate_speech_offensive/labeled_data.csv.gz" in result.stderr
    assert files_under(project, "data/raw") == []


@pytest.mark.slow  # stage processes that import the model stack
def test_download_then_split_write_their_outputs(tmp_path, csv_file):
    project = make_project(tmp_path / "p", str(csv_file), "unused")
    assert run_script(project, *DOWNLOAD).returncode == 0
    manifest = json.loads((project / "data/raw/manifest.json").read_text())
    assert manifest["rows"] == len(make_rows())
    assert sum(manifest["class_counts"].values()) == manifest["rows"]
    assert manifest["kind"] == "csv" and len(manifest["sha256"]) == 64

    assert run_script(project, *SPLIT).returncode == 0
    stats = json.loads((project / "metrics/split_stats.json").read_text())
    assert sum(s["rows"] for s in stats["splits"].values()) == manifest["rows"]
    assert sorted(p.name for p in (project / "data/split").iterdir()) == [
        "test.parquet",
        "train.parquet",
        "validation.parquet",
    ]

    # A split that cannot be stratified names the class and leaves the old outputs untouched.
    set_params(project, "split", validation_size=0.5, test_size=0.6)
    before = sorted(files_under(project, "data/split"))
    result = run_script(project, *SPLIT)
    assert result.returncode == 2 and "must leave rows for training" in result.stderr
    assert sorted(files_under(project, "data/split")) == before


@pytest.mark.slow  # stage processes that import the model stack
def test_tokenize_with_unknown_model_path(tmp_path, staged_project):
    project = copy_project(staged_project, tmp_path / "p", model={"checkpoint": str(tmp_path / "no-such-model")})
    shutil.rmtree(project / "data/tokenized")  # what the tokenize stage wrote for the tiny model
    (project / "metrics/token_lengths.json").unlink()
    result = run_script(project, *TOKENIZE)
    assert result.returncode == 2
    assert f"model directory not found: {tmp_path / 'no-such-model'}" in result.stderr
    assert files_under(project, "data/tokenized") == [] and not (project / "metrics/token_lengths.json").exists()


def test_augment_adds_template_and_disguised_rows_and_refuses_templates_that_leak_into_the_suite(
    tmp_path, csv_file, tiny_model
):
    project = make_project(tmp_path / "p", str(csv_file), str(tiny_model))  # its tokenizer's words: known words
    for command in (DOWNLOAD, SPLIT, AUGMENT):
        result = run_script(project, *command)
        assert result.returncode == 0, result.stderr
    train = pd.read_parquet(project / "data/augmented/train.parquet")
    split = pd.read_parquet(project / "data/split/train.parquet")
    stats = json.loads((project / "metrics/augment.json").read_text())
    assert stats["rows"]["tweet"] == len(split) and len(train) == sum(stats["rows"].values())
    assert set(train["source"]) == {"tweet", "template", "disguised", "counterfactual"}  # fairness: the default's
    assert stats["rows"]["counterfactual"] == stats["fairness"]["counterfactual_rows"] and stats["suite_cases"] >= 2000
    for name in ("validation", "test"):  # copied, never augmented
        assert (project / f"data/augmented/{name}.parquet").read_bytes() == (
            project / f"data/split/{name}.parquet"
        ).read_bytes()
    assert json.loads((project / "data/augmented/lexicon.json").read_text())

    # A training template that is also a suite template: one line, exit 2, the old outputs untouched.
    before = sorted(files_under(project, "data/augmented"))
    suite = yaml.safe_load((project / "data/functional/suite.yaml").read_text())
    training = yaml.safe_load((project / "data/functional/training.yaml").read_text())
    training["functionalities"][0]["templates"].append(suite["functionalities"][0]["templates"][0])
    (project / "data/functional/training.yaml").write_text(yaml.safe_dump(training))
    result = run_script(project, *AUGMENT)
    assert result.returncode == 2 and "also in the functional suite" in result.stderr
    assert sorted(files_under(project, "data/augmented")) == before


@pytest.mark.slow  # the augment stage three times, as processes
def test_augment_applies_a_fairness_mitigation_from_the_train_rows_dialect_groups(tmp_path, staged_project):
    project = copy_project(staged_project, tmp_path / "p", fairness={"method": "none"})
    assert run_script(project, *AUGMENT).returncode == 0
    plain = pd.read_parquet(project / "data/augmented/train.parquet")
    assert "weight" not in plain and "fairness" not in json.loads((project / "metrics/augment.json").read_text())

    set_params(project, "fairness", method="upweight", strength=4.0, group_threshold=0.5)
    result = run_script(project, *AUGMENT)
    assert result.returncode == 0, result.stderr
    weighted = pd.read_parquet(project / "data/augmented/train.parquet")
    stats = json.loads((project / "metrics/augment.json").read_text())["fairness"]
    assert weighted.drop(columns="weight").equals(plain)  # the same rows, now weighted
    assert weighted["weight"].mean() == pytest.approx(1.0) and stats["method"] == "upweight"
    assert set(stats["train_rows_by_group"]) == {"aae", "white"}

    set_params(project, "fairness", method="reweight")
    result = run_script(project, *AUGMENT)
    assert result.returncode == 2 and "fairness.method must be one of" in result.stderr
    assert pd.read_parquet(project / "data/augmented/train.parquet").equals(weighted)  # untouched
