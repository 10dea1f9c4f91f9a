"""Bootstrap intervals and paired tests (hatespeech.evaluation.stats) on constructed predictions."""

from __future__ import annotations

import numpy as np
import pytest

from hatespeech import LABELS, PipelineError
from hatespeech.evaluation.stats import (
    bootstrap_indices,
    confidence_intervals,
    confusion_matrices,
    mcnemar,
    metric_names,
    metrics_from_confusion,
    paired_comparison,
)
from hatespeech.metrics import classification_metrics


def predictions(rows: int, accuracy: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels with the data's class shares and predictions right on about ``accuracy`` of them."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(3, size=rows, p=[0.06, 0.77, 0.17])
    wrong = rng.random(rows) > accuracy
    guesses = (labels + rng.integers(1, 3, size=rows)) % 3
    return labels, np.where(wrong, guesses, labels)


def flat_point_values(labels: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    metrics = classification_metrics(labels, predicted)
    values = {name: metrics[name] for name in metric_names() if name in metrics}
    values.update({f"f1_{name}": metrics["per_class"][name]["f1"] for name in LABELS})
    return values


@pytest.mark.parametrize("seed", range(5))
def test_confusion_metrics_equal_sklearns(seed):
    labels, predicted = predictions(300, 0.7, seed)
    predicted[:5] = 0  # a rare class predicted where it is not: precision below 1
    everything = np.arange(len(labels))[None, :]
    ours = metrics_from_confusion(confusion_matrices(labels, predicted, everything))
    for name, value in flat_point_values(labels, predicted).items():
        assert ours[name][0] == pytest.approx(value, abs=1e-6), name


def test_a_class_missing_from_a_resample_scores_like_sklearn():
    labels = np.array([1, 1, 2, 2, 1])
    predicted = np.array([1, 2, 2, 2, 0])  # hate speech predicted once, never true
    everything = np.arange(5)[None, :]
    ours = metrics_from_confusion(confusion_matrices(labels, predicted, everything))
    for name, value in flat_point_values(labels, predicted).items():
        assert ours[name][0] == pytest.approx(value, abs=1e-6), name


def test_interval_contains_the_point_value_and_narrows_as_the_test_set_grows():
    widths = []
    for rows in (500, 2000, 8000):
        labels, predicted = predictions(rows, 0.85)
        intervals = confidence_intervals(labels, predicted, resamples=1000, seed=1)
        point = flat_point_values(labels, predicted)
        for name in metric_names():
            assert intervals[name]["low"] <= point[name] <= intervals[name]["high"], (rows, name)
        widths.append({name: intervals[name]["high"] - intervals[name]["low"] for name in metric_names()})
    for name in metric_names():
        assert widths[0][name] > widths[1][name] > widths[2][name], name
    # 4x the rows halves the width, as 1/sqrt(n) says (loosely: the bootstrap is itself random)
    assert widths[1]["accuracy"] / widths[2]["accuracy"] == pytest.approx(2, rel=0.25)


def test_bootstrap_is_seeded():
    labels, predicted = predictions(1000, 0.8)
    assert confidence_intervals(labels, predicted, 500, seed=7) == confidence_intervals(labels, predicted, 500, seed=7)
    assert confidence_intervals(labels, predicted, 500, seed=7) != confidence_intervals(labels, predicted, 500, seed=8)
    assert np.array_equal(bootstrap_indices(10, 3, 1), bootstrap_indices(10, 3, 1))


def test_model_that_fixes_40_errors_is_significantly_better():
    labels, reference = predictions(1000, 0.8, seed=3)
    errors = np.flatnonzero(reference != labels)
    candidate = reference.copy()
    candidate[errors[:40]] = labels[errors[:40]]
    comparison = paired_comparison(labels, reference, candidate, resamples=1000, seed=0)
    assert comparison["accuracy"]["difference"] == pytest.approx(0.04)
    assert 0 < comparison["accuracy"]["low"] <= 0.04 <= comparison["accuracy"]["high"]
    assert comparison["accuracy"]["p_value"] < 0.01
    assert comparison["mcnemar"] == {
        "reference_only_correct": 0,
        "candidate_only_correct": 40,
        "p_value": pytest.approx(2 * 0.5**40, rel=1e-3),
    }
    assert comparison["mcnemar"]["p_value"] < 0.01


def test_identical_predictions_differ_by_nothing():
    labels, predicted = predictions(1000, 0.8, seed=4)
    comparison = paired_comparison(labels, predicted, predicted.copy(), resamples=1000, seed=0)
    for name in metric_names():
        entry = comparison[name]
        assert (entry["difference"], entry["low"], entry["high"], entry["p_value"]) == (0, 0, 0, 1), name
    assert comparison["mcnemar"]["p_value"] == 1


def test_swapped_errors_are_not_significant():
    """Each model right where the other is wrong, equally often: no side wins."""
    labels, reference = predictions(1000, 0.8, seed=5)
    candidate = reference.copy()
    errors, right = np.flatnonzero(reference != labels), np.flatnonzero(reference == labels)
    candidate[errors[:30]] = labels[errors[:30]]
    candidate[right[:30]] = (labels[right[:30]] + 1) % 3
    result = mcnemar(labels, reference, candidate, names=("a", "b"))
    assert result == {"a_only_correct": 30, "b_only_correct": 30, "p_value": 1.0}
    assert paired_comparison(labels, reference, candidate)["accuracy"]["p_value"] > 0.5


def test_unpaired_inputs_are_refused():
    with pytest.raises(PipelineError, match="same rows"):
        paired_comparison(np.zeros(5, dtype=int), np.zeros(5, dtype=int), np.zeros(4, dtype=int))
