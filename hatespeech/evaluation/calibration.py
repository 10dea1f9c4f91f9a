"""How honest the scores are: calibration metrics before and after the calibration map, with bootstrap intervals.

- **ECE** (expected calibration error), top-label: rows binned by their highest probability (``bins`` equal-width
  bins); the gap between the mean probability and the share right in each bin, weighted by the bin's rows.
  **Per class** (class-wise ECE): the same with each class's probability against "is this class".
- **Brier** score (the squared distance between the probabilities and the one-hot label, summed over classes) and
  **NLL** (the mean negative log-likelihood of the label).
- **Annotator vote shares**: every tweet was labelled by several annotators (3 to 9). The same binned gap, with each
  class's probability against the share of annotators who chose that class, and the mean absolute difference. A
  small gap means a score reads as "of the annotators who labelled tweets like this, about this share chose this
  class".

Every figure is computed on the same bootstrap resamples of the test rows, so the before/after change has a
paired interval too. ECE over a couple of thousand rows is biased upwards by sampling noise (a perfectly calibrated
model still shows a gap in every bin): read it beside its interval.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hatespeech import LABELS
from hatespeech.evaluation.stats import Bootstrap, bootstrap_indices, interval
from hatespeech.metrics import rounded
from hatespeech.model.calibration import Calibration, nll


def binned_gap(scores: np.ndarray, targets: np.ndarray, indices: np.ndarray, bins: int) -> np.ndarray:
    """Per row of ``indices`` (one resample each): sum over equal-width score bins of |sum of scores - sum of
    targets|, over the resample's rows; the expected calibration error when ``targets`` are 0/1 outcomes."""
    resamples, rows = indices.shape
    bin_of = np.minimum((scores * bins).astype(np.int64), bins - 1)
    cells = (bin_of[indices] + np.arange(resamples)[:, None] * bins).ravel()
    size = resamples * bins
    gap = np.bincount(cells, weights=scores[indices].ravel(), minlength=size)
    gap -= np.bincount(cells, weights=targets[indices].ravel(), minlength=size)
    return np.abs(gap).reshape(resamples, bins).sum(axis=1) / rows


def _measures(probabilities: np.ndarray, labels: np.ndarray, votes: np.ndarray, bins: int) -> dict[str, Callable]:
    """Each figure as a function of resample indices (shape (resamples, rows)) to one value per resample."""
    onehot = np.eye(len(LABELS))[labels]
    top = probabilities.argmax(axis=1)
    measures: dict[str, Callable] = {
        "ece": lambda i: binned_gap(probabilities.max(axis=1), (top == labels).astype(float), i, bins),
        **{
            f"ece_{name}": (lambda i, k=k: binned_gap(probabilities[:, k], onehot[:, k], i, bins))
            for k, name in enumerate(LABELS)
        },
        "brier": lambda i: ((probabilities - onehot) ** 2).sum(axis=1)[i].mean(axis=1),
        "nll": lambda i: nll(probabilities, labels)[i].mean(axis=1),
        "vote_share_mae": lambda i: np.abs(probabilities - votes).mean(axis=1)[i].mean(axis=1),
        **{
            f"vote_share_gap_{name}": (lambda i, k=k: binned_gap(probabilities[:, k], votes[:, k], i, bins))
            for k, name in enumerate(LABELS)
        },
    }
    return measures


def calibration_report(
    raw: np.ndarray, labels: np.ndarray, votes: np.ndarray, calibration: Calibration, bins: int, bootstrap: Bootstrap
) -> dict:
    """Every figure for the model's own probabilities and the calibrated ones, with 95% intervals and the paired
    change (calibrated minus uncalibrated); ``votes`` holds each row's annotator vote shares."""
    labels = np.asarray(labels)
    calibrated = calibration.apply(raw)
    before, after = _measures(raw, labels, votes, bins), _measures(calibrated, labels, votes, bins)
    whole = np.arange(len(labels))[None, :]
    indices = bootstrap_indices(len(labels), bootstrap.config.resamples, bootstrap.seed)
    report: dict = {"examples": int(len(labels)), "bins": bins, "uncalibrated": {}, "calibrated": {}, "change": {}}
    for name in before:
        samples_before, samples_after = before[name](indices), after[name](indices)
        value_before, value_after = float(before[name](whole)[0]), float(after[name](whole)[0])
        report["uncalibrated"][name] = {"value": rounded(value_before), "ci95": interval(samples_before)}
        report["calibrated"][name] = {"value": rounded(value_after), "ci95": interval(samples_after)}
        report["change"][name] = {
            "value": rounded(value_after - value_before),
            "ci95": interval(samples_after - samples_before),
        }
    return report


def reliability_records(probabilities: np.ndarray, labels: np.ndarray, bins: int, model: str) -> list[dict]:
    """The reliability diagram's points: per non-empty top-label bin, its mean confidence and accuracy."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(labels)
    bin_of = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    records = []
    for b in range(bins):
        rows = bin_of == b
        if rows.any():
            records.append(
                {
                    "model": model,
                    "confidence": rounded(confidence[rows].mean()),
                    "accuracy": rounded(correct[rows].mean()),
                    "rows": int(rows.sum()),
                }
            )
    return records
