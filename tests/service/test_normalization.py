"""One normalization in every entry point: a tweet and its HTML-escaped form (as the dataset stores tweets: entities
for "&" and for each emoji) get identical scores from the Classifier, hatespeech-predict, the HTTP service, the
explanations, the baseline and the audit's dialect words; an old model directory without normalizer.json scores
raw text exactly as before. (hatespeech-score and the ONNX backends: tests/scoring/test_scoring.py, test_export.py.)"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from helpers import ESCAPED, RAW, service_client

from hatespeech.data.dialect import tweet_tokens
from hatespeech.data.text import Normalizer
from hatespeech.evaluation.explain import explain_classifier
from hatespeech.model.baseline import BaselineConfig, baseline_labels, save_baseline, train_baseline
from hatespeech.model.decision import DecisionRule
from hatespeech.model.inference import Classifier, predict_logits
from hatespeech.paths import NORMALIZER_FILE
from hatespeech.scoring.predict import main as predict_main
from hatespeech.testing import make_rows


@pytest.fixture(scope="module")
def classifier(trained_model) -> Classifier:
    return Classifier(trained_model.model_dir, "torch")


def test_the_trained_model_carries_its_normalizer(trained_model, classifier):
    assert (trained_model.model_dir / NORMALIZER_FILE).is_file() and classifier.normalizer == Normalizer()
    assert ESCAPED[0] != RAW[0] and "&amp;" in ESCAPED[0] and "&#128514;" in ESCAPED[0]


def test_classifier_scores_a_tweet_and_its_escaped_form_identically(classifier):
    assert classifier.predict(ESCAPED) == classifier.predict(RAW)
    assert [e["tokens"] for e in explain_classifier(classifier, ESCAPED)] == [
        e["tokens"] for e in explain_classifier(classifier, RAW)
    ]


def test_an_old_model_directory_without_settings_scores_raw_text_as_before(trained_model, classifier, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(trained_model.model_dir, old)
    (old / NORMALIZER_FILE).unlink()
    legacy = Classifier(old, "torch")
    assert legacy.normalizer == Normalizer.legacy()
    # As before normalization existed: the raw text straight into the tokenizer.
    encodings = legacy.tokenizer(ESCAPED, truncation=True, max_length=legacy.max_length)
    rows = [{k: encodings[k][i] for k in ("input_ids", "attention_mask", "token_type_ids")} for i in range(3)]
    logits = predict_logits(legacy.backend.model, legacy.tokenizer, rows)
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert legacy.probabilities(ESCAPED) == pytest.approx(expected, abs=1e-5)
    assert not np.allclose(legacy.probabilities(ESCAPED), legacy.probabilities(RAW), atol=1e-4)


def test_predict_command_and_service_agree_on_both_forms(trained_model, classifier, tmp_path, capsys):
    path = tmp_path / "tweets.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in RAW + ESCAPED), encoding="utf-8")
    assert predict_main(["--model", str(trained_model.model_dir), "--file", str(path), "--quiet"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [{k: r[k] for k in ("label", "scores")} for r in rows[:3]] == [
        {k: r[k] for k in ("label", "scores")} for r in rows[3:]
    ]
    with service_client(classifier, tmp_path) as client:
        raw = client.post("/predict", json={"texts": RAW}).json()["predictions"]
        esc = client.post("/predict", json={"texts": ESCAPED}).json()["predictions"]
        assert [r["scores"] for r in raw] == [r["scores"] for r in esc] == [r["scores"] for r in rows[:3]]
        assert client.get("/model").json()["normalizer"]["emoji"] == "names"


def test_baseline_and_dialect_words_see_the_same_text(tmp_path):
    rows = make_rows(200, seed=2)
    train = pd.DataFrame({"text": [r[6] for r in rows], "label": [r[5] for r in rows]})
    model = train_baseline(train, BaselineConfig(), seed=0, normalizer=Normalizer())
    save_baseline(model, tmp_path)
    DecisionRule().save(tmp_path)
    Normalizer().save(tmp_path)
    assert baseline_labels(tmp_path)(ESCAPED) == baseline_labels(tmp_path)(RAW)
    assert [tweet_tokens(t) for t in ESCAPED] == [tweet_tokens(t) for t in RAW]
