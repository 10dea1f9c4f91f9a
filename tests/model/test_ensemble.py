"""The ensemble stage: the transformer's weight is chosen on validation, the test split only scored."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import copy_project, run_script, set_params, stage_command

from hatespeech import PipelineError
from hatespeech.model.ensemble import EnsembleConfig, check_rows, choose_weight, combine

BASELINE, ENSEMBLE = (stage_command(name) for name in ("baseline", "ensemble"))


def one_hot_ish(labels: list[int], confidence: float) -> np.ndarray:
    rest = (1 - confidence) / 2
    probabilities = np.full((len(labels), 3), rest)
    probabilities[np.arange(len(labels)), labels] = confidence
    return probabilities


def test_weight_grid_and_config_errors():
    assert EnsembleConfig().weights().tolist() == pytest.approx([i / 20 for i in range(21)])
    assert EnsembleConfig(weight_step=0.5).weights().tolist() == [0.0, 0.5, 1.0]
    with pytest.raises(PipelineError, match="ensemble.weight_step must be in"):
        EnsembleConfig.from_params({"weight_step": 0})
    with pytest.raises(PipelineError, match="unknown ensemble parameter"):
        EnsembleConfig.from_params({"weight": 0.5})


def test_a_mixture_wins_where_each_model_is_wrong_on_its_own_rows():
    labels = np.array([0, 1, 2, 0, 1, 2])
    # The transformer is sure and wrong on the first two rows, the baseline unsure and wrong on the last two;
    # each is mildly right elsewhere. Only a mixture gets all six.
    transformer = one_hot_ish([1, 2, 2, 0, 1, 2], 0.6)
    baseline = one_hot_ish([0, 1, 2, 0, 0, 0], 0.5)
    transformer[:2] = one_hot_ish([1, 2], 0.55)
    baseline[:2] = one_hot_ish([0, 1], 0.9)
    choice = choose_weight(labels, transformer, baseline, EnsembleConfig(weight_step=0.1))
    assert 0 < choice.transformer_weight < 1
    mixed = combine(transformer, baseline, choice.transformer_weight)
    assert (mixed.argmax(axis=1) == labels).all()
    report = choice.to_json()
    assert report["kept"] is True and report["validation_f1_macro"] == 1.0
    assert report["validation_gain_over_transformer"] > 0 and len(report["tried"]) == 11


def test_ties_keep_the_transformer_alone():
    labels = np.array([0, 1, 2])
    same = one_hot_ish([0, 1, 2], 0.8)
    choice = choose_weight(labels, same, same.copy(), EnsembleConfig())
    assert choice.transformer_weight == 1.0 and choice.to_json()["kept"] is False


def test_rows_must_be_the_splits_tweets_in_order():
    from hatespeech.data.text import text_id

    texts = pd.DataFrame({"text": ["a", "b"]})
    table = pd.DataFrame({"text_id": [text_id("a"), text_id("b")]})
    check_rows(table, texts, "ok")
    with pytest.raises(PipelineError, match="does not hold the split's tweets in order"):
        check_rows(table.iloc[::-1], texts, "transformer predictions (test)")


@pytest.mark.slow  # two baseline fits and the ensemble stage, as processes
def test_ensemble_stage_chooses_on_validation_and_writes_what_the_models_write(tmp_path, staged_project):
    project = copy_project(staged_project, tmp_path / "p")
    assert run_script(project, *BASELINE).returncode == 0
    # A second, different model in the transformer's place: a weaker baseline (words only, strong regularization).
    set_params(project, "baseline", C=0.05, char_ngram_min=1, char_ngram_max=1)
    second = [
        "--model-dir", "models/second", "--test-metrics", "metrics/second_test.json",
        "--validation-metrics", "metrics/second_validation.json", "--plots-dir", "plots/second",
        "--report-dir", "reports/second", "--predictions", "predictions/transformer.parquet",
    ]  # fmt: skip
    assert (
        run_script(
            project, "stages/baseline.py", "--splits", "data/split", "--spelling", "data/spelling.json", *second
        ).returncode
        == 0
    )

    result = run_script(project, *ENSEMBLE)
    assert result.returncode == 0, result.stderr
    choice = json.loads((project / "metrics/ensemble_choice.json").read_text())
    scores = {row["transformer_weight"]: row["f1_macro"] for row in choice["tried"]}
    assert choice["validation_f1_macro"] == max(scores.values()) >= scores[0.0]
    baseline_validation = json.loads((project / "metrics/baseline_validation.json").read_text())
    assert scores[0.0] == baseline_validation["f1_macro"]  # weight 0 is the baseline alone
    ensemble_test = json.loads((project / "metrics/ensemble_test.json").read_text())
    baseline_test = json.loads((project / "metrics/baseline_test.json").read_text())
    assert set(ensemble_test) == set(baseline_test) and "ci95" in ensemble_test
    assert sorted(p.name for p in (project / "plots/ensemble").iterdir()) == sorted(
        p.name for p in (project / "plots/baseline").iterdir()
    )
    assert (project / "reports/ensemble/error_analysis.md").read_text().startswith("# Error analysis: ensemble")
    assert len(pd.read_parquet(project / "predictions/ensemble.parquet")) == len(
        pd.read_parquet(project / "predictions/baseline.parquet")
    )

    # Scrambled test labels change the test metrics, never the weight or the rule: both come from validation.
    test_file = project / "data/split/test.parquet"
    test = pd.read_parquet(test_file)
    test["label"] = (test["label"] + 1) % 3
    test.to_parquet(test_file, index=False)
    assert run_script(project, *ENSEMBLE).returncode == 0
    assert json.loads((project / "metrics/ensemble_choice.json").read_text()) == choice
    assert json.loads((project / "metrics/ensemble_test.json").read_text())["f1_macro"] < ensemble_test["f1_macro"]

    # Predictions of another split (here: rows out of order) are refused with a clear error.
    table = pd.read_parquet(project / "predictions/transformer.parquet")
    table.loc[table["split"] == "validation", "row"] = table.loc[table["split"] == "validation", "row"].to_numpy()[::-1]
    table.to_parquet(project / "predictions/transformer.parquet", index=False)
    refused = run_script(project, *ENSEMBLE)
    assert refused.returncode != 0 and "does not hold the split's tweets in order" in refused.stderr
