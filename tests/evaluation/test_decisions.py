"""The calibrate and policy stages' metrics: ECE as its textbook definition, intervals that cover the change,
and each policy's figures counted by hand."""

from __future__ import annotations

import numpy as np
import pytest

from hatespeech.evaluation.calibration import binned_gap, calibration_report, reliability_records
from hatespeech.evaluation.policy import policy_figures, targets_met, tradeoff_records
from hatespeech.evaluation.stats import Bootstrap, BootstrapConfig
from hatespeech.model.calibration import CalibrateConfig, fit_calibration
from hatespeech.model.decision import softmax
from hatespeech.model.policy import Policy, Threshold

BOOTSTRAP = Bootstrap(BootstrapConfig(resamples=200), seed=0)


def textbook_ece(probabilities: np.ndarray, labels: np.ndarray, bins: int) -> float:
    confidence, correct = probabilities.max(axis=1), probabilities.argmax(axis=1) == labels
    total = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        rows = (confidence >= low) & ((confidence < high) if b < bins - 1 else (confidence <= high))
        if rows.any():
            total += rows.mean() * abs(confidence[rows].mean() - correct[rows].mean())
    return total


def synthetic(rows: int = 3000, temperature: float = 2.5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 1.5, size=(rows, 3))
    labels = np.array([rng.choice(3, p=p) for p in softmax(logits)])
    return softmax(logits * temperature), labels


def test_ece_is_the_textbook_one_and_calibration_lowers_it_with_an_interval_on_the_change():
    probabilities, labels = synthetic()
    whole = np.arange(len(labels))[None, :]
    confidence = probabilities.max(axis=1)
    correct = (probabilities.argmax(axis=1) == labels).astype(float)
    assert binned_gap(confidence, correct, whole, 15)[0] == pytest.approx(textbook_ece(probabilities, labels, 15))
    calibration = fit_calibration(probabilities, labels, CalibrateConfig(method="temperature"), seed=0)
    votes = np.eye(3)[labels]
    report = calibration_report(probabilities, labels, votes, calibration, 15, BOOTSTRAP)
    before, after, change = report["uncalibrated"], report["calibrated"], report["change"]
    assert before["ece"]["value"] == pytest.approx(textbook_ece(probabilities, labels, 15), abs=1e-6)
    assert after["ece"]["value"] < 0.03 < before["ece"]["value"]
    assert change["ece"]["ci95"]["high"] < 0 and change["nll"]["ci95"]["high"] < 0  # a paired, clear gain
    for block in (before, after):
        assert block["ece"]["ci95"]["low"] <= block["ece"]["value"] <= block["ece"]["ci95"]["high"]
    records = reliability_records(calibration.apply(probabilities), labels, 15, "calibrated")
    assert sum(r["rows"] for r in records) == len(labels)


def test_a_policys_figures_counted_by_hand():
    policy = Policy("p", {"hate_speech": Threshold(flag=0.8, review=0.4, flag_precision=0.9, review_recall=0.9)})
    # hate scores, gold labels: two flagged (one right), two reviewed (both hate), two allowed (one hate)
    hate = np.array([0.9, 0.85, 0.5, 0.45, 0.1, 0.2])
    labels = np.array([0, 1, 0, 0, 0, 2])
    probabilities = np.stack([hate, (1 - hate) / 2, (1 - hate) / 2], axis=1)
    figures = policy_figures(policy, probabilities, labels)
    assert figures["share_flag"] == pytest.approx(2 / 6) and figures["share_review"] == pytest.approx(2 / 6)
    assert figures["flag_precision_hate_speech"] == 0.5 and figures["flag_precision"] == 0.5
    assert figures["catch_rate_hate_speech"] == 0.75  # 3 of the 4 hate tweets flagged or reviewed
    assert figures["flag_recall_hate_speech"] == 0.25 and figures["flagged"] == 2 and figures["reviewed"] == 2
    checks = targets_met(policy, figures, 0.9)
    assert checks["flag_precision_hate_speech"] == {"target": 0.9, "value": 0.5, "met": False}
    assert checks["review_recall_hate_speech"]["met"] is False
    never = Policy("q", {"hate_speech": Threshold(flag=None, review=0.4, flag_precision=0.9)})
    unmet = targets_met(never, policy_figures(never, probabilities, labels), 0.9)["flag_precision_hate_speech"]
    assert unmet["met"] is False and "never flagged" in unmet["why"]  # said, not silently dropped
    with_intervals = policy_figures(policy, probabilities, labels, BOOTSTRAP)
    assert with_intervals["share_flag"]["value"] == pytest.approx(2 / 6)
    assert with_intervals["share_flag"]["ci95"]["low"] <= 2 / 6 <= with_intervals["share_flag"]["ci95"]["high"]


def test_the_tradeoff_curve_shrinks_the_share_as_the_threshold_rises():
    probabilities, labels = synthetic(500)
    records = tradeoff_records(probabilities, labels, "hate_speech")
    shares = [r["share"] for r in records]
    assert shares[0] == 1.0 and shares == sorted(shares, reverse=True)
    assert records[0]["recall"] == 1.0 and all(0 <= r["precision"] <= 1 for r in records)
