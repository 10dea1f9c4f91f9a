"""The baseline stage: TF-IDF + logistic regression on the same splits, saved without pickle."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import copy_project, run_script, stage_command

from hatespeech import PipelineError
from hatespeech.data.text import Normalizer
from hatespeech.model.baseline import (
    BaselineConfig,
    build_baseline,
    load_baseline,
    normalize_tweet,
    predict_proba,
    save_baseline,
)
from hatespeech.testing import make_rows

BASELINE = stage_command("baseline")


def test_normalize_tweet():
    assert normalize_tweet("RT @Some_one: I &amp; U   http://t.co/x") == "rt mentionhere : i & u urlhere"


def test_bad_baseline_params():
    with pytest.raises(PipelineError, match="baseline.class_weight must be one of"):
        BaselineConfig.from_params({"class_weight": "sqrt"})
    with pytest.raises(PipelineError, match="unknown baseline parameter"):
        BaselineConfig.from_params({"ngrams": 3})


@pytest.mark.slow  # the baseline stage as a process
def test_baseline_stage_fits_its_rule_on_validation_only(tmp_path, staged_project):
    project = copy_project(staged_project, tmp_path / "p")  # augment's output: the normalizer's spelling word lists
    result = run_script(project, *BASELINE)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((project / "metrics/baseline_test.json").read_text())
    assert {"accuracy", "f1_weighted", "f1_macro", "per_class", "tuned"} <= set(metrics)
    assert metrics["f1_macro"] > 0.5  # the synthetic classes have their own words
    rule = json.loads((project / "models/baseline/decision_rule.json").read_text())
    validation = pd.read_parquet(project / "data/split/validation.parquet")
    assert rule["fitted_on"] == "validation" and rule["examples"] == len(validation)
    model = load_baseline(project / "models/baseline")
    assert list(model.predict(["zorgon blapper"])) and (project / "reports/baseline/error_analysis.md").is_file()

    # Scrambling the test split's labels changes the test metrics but not the fitted model or its rule.
    test_file = project / "data/split/test.parquet"
    test = pd.read_parquet(test_file)
    test["label"] = (test["label"] + 1) % 3
    test.to_parquet(test_file, index=False)
    rule_file, model_file = project / "models/baseline/decision_rule.json", project / "models/baseline/model.skops"
    saved_rule, saved_model, texts = rule_file.read_bytes(), model_file.read_bytes(), test["text"].tolist()
    saved_scores = predict_proba(model, texts, Normalizer())
    assert run_script(project, *BASELINE).returncode == 0
    assert rule_file.read_bytes() == saved_rule
    assert model_file.read_bytes() == saved_model  # another process, another hash seed: the same bytes
    assert np.array_equal(predict_proba(load_baseline(project / "models/baseline"), texts, Normalizer()), saved_scores)
    assert json.loads((project / "metrics/baseline_test.json").read_text())["f1_macro"] < metrics["f1_macro"]


def test_loading_refuses_untrusted_types(tmp_path):
    import skops.io
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    (tmp_path / "model.skops").write_bytes(skops.io.dumps(Pipeline([("f", FunctionTransformer(json.loads))])))
    with pytest.raises(PipelineError, match="types that are not trusted: json.loads"):
        load_baseline(tmp_path)
    with pytest.raises(PipelineError, match="no baseline model"):
        load_baseline(tmp_path / "missing")


def test_equal_models_are_saved_as_equal_bytes(tmp_path):
    """skops names members after object addresses and stamps the time; the saved archive is made canonical."""
    rows = make_rows(120)
    texts, labels = [row[6] for row in rows], [row[5] for row in rows]
    first, second = (build_baseline(BaselineConfig(), seed=0).fit(texts, labels) for _ in range(2))
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    paths = [save_baseline(first, tmp_path / "a"), save_baseline(second, tmp_path / "b")]
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert np.array_equal(
        predict_proba(load_baseline(tmp_path / "b"), texts, Normalizer()), predict_proba(first, texts, Normalizer())
    )
