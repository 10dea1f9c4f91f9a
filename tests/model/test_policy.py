"""Moderation policies: thresholds fitted to a platform's targets, the action each text gets, and the same action
from the per-text and the vectorised code."""

from __future__ import annotations

import numpy as np
import pytest

from hatespeech import LABELS, PipelineError
from hatespeech.model.policy import (
    Policies,
    Policy,
    PolicyConfig,
    Threshold,
    UnknownPolicy,
    fit_policies,
    flag_threshold,
    review_threshold,
)

POLICY = Policy(
    "strict",
    {
        "hate_speech": Threshold(flag=0.8, review=0.3),
        "offensive_language": Threshold(flag=0.9, review=None),
    },
)


@pytest.mark.parametrize(
    "scores, action, reason",
    [
        ({"hate_speech": 0.85, "offensive_language": 0.1, "neither": 0.05}, "flag", "hate_speech"),
        ({"hate_speech": 0.05, "offensive_language": 0.93, "neither": 0.02}, "flag", "offensive_language"),
        ({"hate_speech": 0.30, "offensive_language": 0.6, "neither": 0.1}, "review", "hate_speech"),  # at the edge
        ({"hate_speech": 0.29, "offensive_language": 0.89, "neither": 0.0}, "allow", None),
    ],
)
def test_a_text_is_flagged_then_reviewed_then_allowed_severest_class_first(scores, action, reason):
    assert POLICY.decide(scores) == {"action": action, "policy": "strict", "reason": reason}


def test_the_vectorised_actions_equal_decide_on_every_row():
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(3) * 0.5, size=2000)
    probabilities[:5, 0] = [0.8, 0.3, 0.7999995, 0.2999996, 0.0]  # threshold edges, and rounding onto them
    action, reason = POLICY.actions(probabilities)
    for row, (a, r) in enumerate(zip(action, reason)):
        scores = {label: round(float(p), 6) for label, p in zip(LABELS, probabilities[row])}
        expected = POLICY.decide(scores)
        assert ("allow", "review", "flag")[a] == expected["action"]
        assert (LABELS[r] if r >= 0 else None) == expected["reason"]


def test_the_flag_threshold_needs_the_precision_with_confidence_not_by_luck():
    # scores 1.00, 0.99, ...: the top 20 are right, then one wrong in every four
    positive = np.array([True] * 20 + [True, True, True, False] * 20)
    scores = np.linspace(1, 0.01, len(positive))
    observed = flag_threshold(scores, positive, precision=0.8, min_flags=1, confidence=0.5)
    confident = flag_threshold(scores, positive, precision=0.8, min_flags=1, confidence=0.95)
    assert observed is not None and confident is not None and confident > observed
    flagged = scores >= confident
    assert positive[flagged].mean() > 0.85  # the confident threshold keeps well above the target
    assert flag_threshold(scores, positive, precision=0.8, min_flags=1000, confidence=0.5) is None
    assert flag_threshold(scores, ~positive, precision=0.8, min_flags=1, confidence=0.5) is None


def test_the_review_threshold_catches_the_target_share_and_ties_go_together():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0])
    positive = np.array([1, 0, 1, 0, 1, 0, 1, 0, 1, 0], dtype=bool)
    assert review_threshold(scores, positive, 0.6) == 0.5  # 3 of the 5 positives score >= 0.5
    assert review_threshold(scores, positive, 1.0) == 0.1
    assert review_threshold(scores, np.zeros(10, dtype=bool), 0.9) is None


def test_fitted_policies_meet_their_targets_on_the_rows_they_were_fitted_on_and_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    labels = rng.choice(3, size=3000, p=[0.1, 0.6, 0.3])
    probabilities = rng.dirichlet(np.ones(3), size=3000)
    probabilities[np.arange(3000), labels] += rng.random(3000) * 2
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    config = PolicyConfig.from_params(
        {
            "default": "p",
            "min_flags": 10,
            "flag_confidence": 0.9,
            "policies": {"p": {"flag_precision": {"hate_speech": 0.8}, "review_recall": {"hate_speech": 0.9}}},
        }
    )
    policies = fit_policies(config, probabilities, labels)
    policy = policies.get(None)
    action, reason = policy.actions(probabilities)
    flagged = action == 2
    assert flagged.sum() >= 10 and (labels[flagged] == 0).mean() >= 0.8
    assert (action[labels == 0] > 0).mean() >= 0.9
    policies.save(tmp_path)
    assert Policies.load(tmp_path) == policies


def test_unknown_policies_and_bad_targets_name_what_is_known():
    with pytest.raises(UnknownPolicy, match="unknown policy 'lax': this model knows strict"):
        Policies("strict", {"strict": POLICY}).get("lax")
    with pytest.raises(UnknownPolicy, match="knows none"):
        Policies().get(None)
    base = {"default": "a", "min_flags": 1, "flag_confidence": 0.9}
    for policies, message in (
        ({"b": {}}, "policy.default 'a' is not one of the policies: b"),
        ({"a": {"flag_precision": {"hate": 0.9}}}, "unknown class"),
        ({"a": {"flag_precision": {"hate_speech": 1.5}}}, r"must be in \(0, 1\]"),
        ({"a": {"remove_precision": {"hate_speech": 0.9}}}, "unknown target"),
    ):
        with pytest.raises(PipelineError, match=message):
            PolicyConfig.from_params({**base, "policies": policies})
