"""Decision rules: offsets fitted on validation change predictions as intended, and travel with the model."""

from __future__ import annotations

import numpy as np
import pytest

from hatespeech import LABELS, PipelineError
from hatespeech.metrics import macro_f1, summary_metrics
from hatespeech.model.decision import DecisionRule, RuleConfig, fit_decision_rule, softmax


def under_predicted_hate(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Scores that rank hate tweets correctly but put too little mass on hate: argmax almost never says hate."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(3, size=n, p=[0.1, 0.6, 0.3])
    logits = rng.normal(0, 0.5, size=(n, 3))
    logits[np.arange(n), labels] += 2.0
    logits[:, 0] -= 2.2  # the hate logit is shifted down for everyone
    return labels, softmax(logits)


def test_offsets_recover_the_rare_class_and_raise_macro_f1():
    labels, probabilities = under_predicted_hate()
    rule = fit_decision_rule(probabilities, labels, RuleConfig())
    argmax = probabilities.argmax(axis=1)
    tuned = rule.predict(probabilities)
    assert (argmax == 0).sum() < (tuned == 0).sum()  # more tweets called hate ...
    assert (
        rule.offsets["hate_speech"] > 1.0 and rule.offsets["offensive_language"] == 0.0
    )  # majority class is the reference
    assert rule.after > rule.before + 0.1 and rule.after == pytest.approx(macro_f1(labels, tuned, 3), abs=1e-6)
    assert rule.after == pytest.approx(summary_metrics(labels, tuned)["f1_macro"], abs=1e-6)  # same F1 as sklearn
    assert (rule.kind, rule.fitted_on, rule.examples) == ("offsets", "validation", len(labels))


def test_offsets_fitted_on_one_sample_carry_over_to_another():
    labels, probabilities = under_predicted_hate(seed=1)
    rule = fit_decision_rule(probabilities, labels, RuleConfig())
    unseen_labels, unseen = under_predicted_hate(seed=2)
    assert (
        summary_metrics(unseen_labels, rule.predict(unseen))["f1_macro"]
        > summary_metrics(unseen_labels, unseen.argmax(axis=1))["f1_macro"]
    )


def test_well_calibrated_scores_keep_argmax():
    labels = np.array([0, 1, 2] * 20)
    probabilities = np.eye(3)[labels] * 0.8 + 0.2 / 3
    rule = fit_decision_rule(probabilities, labels, RuleConfig())
    assert rule.offsets == {name: 0.0 for name in LABELS}  # ties go to the smallest offsets
    argmax_rule = fit_decision_rule(probabilities, labels, RuleConfig(kind="argmax"))
    assert argmax_rule.kind == "argmax" and np.array_equal(argmax_rule.predict(probabilities), labels)


def test_rule_round_trips_next_to_the_model(tmp_path):
    labels, probabilities = under_predicted_hate()
    rule = fit_decision_rule(probabilities, labels, RuleConfig(step=0.5))
    rule.save(tmp_path)
    loaded = DecisionRule.load(tmp_path)
    assert loaded == rule and np.array_equal(loaded.predict(probabilities), rule.predict(probabilities))
    # Columns in another order (a model with another label order) get the right offsets.
    order = ["neither", "hate_speech", "offensive_language"]
    reordered = loaded.predict(probabilities[:, [2, 0, 1]], order)
    assert [order[i] for i in reordered] == [LABELS[i] for i in rule.predict(probabilities)]


def test_model_without_a_rule_uses_argmax_and_a_broken_rule_is_an_error(tmp_path):
    assert DecisionRule.load(tmp_path).kind == "argmax"
    (tmp_path / "decision_rule.json").write_text('{"offsets": {"hate_speech": "x"}}')
    with pytest.raises(PipelineError, match="not a valid decision rule"):
        DecisionRule.load(tmp_path)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"kind": "threshold"}, "decision_rule.kind must be one of"),
        ({"step": 0}, "step must be positive"),
        ({"grid": 3}, "unknown decision_rule parameter"),
    ],
)
def test_bad_rule_params(params, message):
    with pytest.raises(PipelineError, match=message):
        RuleConfig.from_params(params)
