"""What each moderation policy does on a split: the shares of tweets allowed, sent to review and flagged (the
reviewers' workload), the precision of automatic flags and the recall of flags + review, per class, with 95%
bootstrap intervals; whether each target was met; an out-of-fold check of the fit; and the trade-off curve.

Definitions, per class ``c`` (hate speech, offensive language):

- **flag precision**: of the tweets flagged *for* ``c``, the share whose majority label is ``c``; overall, of every
  flagged tweet, the share flagged for its own majority label;
- **catch rate** (recall of flags + review): of the tweets labelled ``c``, the share not allowed (flagged, for any
  class, or sent to review): what a platform's process gets to act on;
- **shares**: of all tweets, the share allowed / reviewed / flagged.

A target that cannot be met on validation shows as ``"met": false`` with the threshold ``null`` (that class is
never flagged automatically by that policy); on test each target shows its measured value and interval.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from hatespeech import LABELS
from hatespeech.evaluation.stats import Bootstrap, bootstrap_indices, interval
from hatespeech.metrics import rounded, rounded_array
from hatespeech.model.calibration import CalibrateConfig, fit_calibration, stratified_folds
from hatespeech.model.policy import ACTIONS, Policies, Policy, PolicyConfig, fit_policies

_TRADEOFF_POINTS = 101  # thresholds 0, 0.01, ..., 1


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / np.maximum(denominator, 1), np.nan)


def _figures(action: np.ndarray, reason: np.ndarray, labels: np.ndarray, indices: np.ndarray) -> dict[str, np.ndarray]:
    """Each figure, one value per row of ``indices`` (a resample of the rows)."""
    a, r, y = action[indices], reason[indices], labels[indices]
    flagged = a == 2
    figures = {f"share_{name}": (a == code).mean(axis=1) for code, name in enumerate(ACTIONS)}
    figures["flag_precision"] = _ratio((flagged & (r == y)).sum(axis=1), flagged.sum(axis=1))
    for k, name in enumerate(LABELS[:-1]):
        flagged_for = flagged & (r == k)
        figures[f"flag_precision_{name}"] = _ratio((flagged_for & (y == k)).sum(axis=1), flagged_for.sum(axis=1))
        figures[f"flag_recall_{name}"] = _ratio((flagged_for & (y == k)).sum(axis=1), (y == k).sum(axis=1))
        figures[f"catch_rate_{name}"] = _ratio(((a > 0) & (y == k)).sum(axis=1), (y == k).sum(axis=1))
    return figures


def policy_figures(
    policy: Policy, probabilities: np.ndarray, labels: np.ndarray, bootstrap: Bootstrap | None = None
) -> dict:
    """Each figure of ``policy`` on rows of calibrated probabilities, with intervals when ``bootstrap`` is given."""
    labels = np.asarray(labels)
    action, reason = policy.actions(probabilities)
    values = _figures(action, reason, labels, np.arange(len(labels))[None, :])
    samples = None
    if bootstrap is not None:
        samples = _figures(
            action, reason, labels, bootstrap_indices(len(labels), bootstrap.config.resamples, bootstrap.seed)
        )
    report = {}
    for name, value in values.items():
        point = None if np.isnan(value[0]) else rounded(value[0])
        report[name] = {"value": point, "ci95": interval(samples[name])} if samples is not None else point
    report["flagged"] = int((action == 2).sum())
    report["reviewed"] = int((action == 1).sum())
    return report


def targets_met(policy: Policy, figures: Mapping[str, object], confidence: float) -> dict:
    """Per class and target: the target, the measured value, and whether it reaches the target."""

    def value(name: str) -> float | None:
        figure = figures.get(name)
        return figure.get("value") if isinstance(figure, Mapping) else figure  # type: ignore[return-value]

    checks = {}
    for label, threshold in policy.thresholds.items():
        for target, figure in (("flag_precision", f"flag_precision_{label}"), ("review_recall", f"catch_rate_{label}")):
            wanted = getattr(threshold, target)
            if wanted is None:
                continue
            measured = value(figure)
            unreachable = target == "flag_precision" and threshold.flag is None
            check = {"target": wanted, "value": measured}
            check["met"] = bool(measured is not None and measured >= wanted and not unreachable)
            if unreachable:
                check["why"] = f"on validation no threshold reaches it with {confidence} confidence: never flagged"
            checks[f"{target}_{label}"] = check
    return checks


def out_of_fold_actions(
    config: PolicyConfig, calibrate: CalibrateConfig, raw: np.ndarray, labels: np.ndarray, seed: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each policy's actions on every validation row, the calibration and thresholds fitted on the other folds:
    how optimistic figures measured on the rows the policy was fitted on are."""
    labels = np.asarray(labels)
    fold_of = stratified_folds(labels, calibrate.folds, seed)
    actions = {name: (np.zeros(len(labels), np.int64), np.full(len(labels), -1)) for name in config.policies}
    for fold in range(calibrate.folds):
        held = fold_of == fold
        calibration = fit_calibration(raw[~held], labels[~held], calibrate, seed)
        fitted = fit_policies(config, calibration.apply(raw[~held]), labels[~held])
        for name, policy in (fitted.policies or {}).items():
            action, reason = policy.actions(calibration.apply(raw[held]))
            actions[name][0][held], actions[name][1][held] = action, reason
    return actions


def out_of_fold_figures(action: np.ndarray, reason: np.ndarray, labels: np.ndarray) -> dict:
    values = _figures(action, reason, np.asarray(labels), np.arange(len(labels))[None, :])
    return {name: None if np.isnan(v[0]) else rounded(v[0]) for name, v in values.items()}


def tradeoff_records(probabilities: np.ndarray, labels: np.ndarray, label: str) -> list[dict]:
    """As one class's threshold moves from 0 to 1: the share of tweets at or above it (the workload of acting on
    them), their precision and the class's recall; the curve the policies' thresholds sit on."""
    k = LABELS.index(label)
    scores, positive = rounded_array(probabilities[:, k]), np.asarray(labels) == k
    records = []
    for threshold in np.linspace(0, 1, _TRADEOFF_POINTS):
        above = scores >= threshold
        if not above.any():
            break
        records.append(
            {
                "class": label,
                "threshold": rounded(threshold),
                "share": rounded(above.mean()),
                "precision": rounded(positive[above].mean()),
                "recall": rounded((above & positive).sum() / max(positive.sum(), 1)),
            }
        )
    return records


def policy_metrics(
    policies: Policies,
    config: PolicyConfig,
    calibrate: CalibrateConfig,
    splits: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    bootstrap: Bootstrap,
) -> dict:
    """metrics/policy.json: per policy, its thresholds, its validation fit (and the out-of-fold check), and its
    figures on test with intervals. ``splits`` maps validation and test to (raw probabilities, calibrated
    probabilities, labels)."""
    raw_validation, calibrated_validation, validation_labels = splits["validation"]
    _, calibrated_test, test_labels = splits["test"]
    out_of_fold = out_of_fold_actions(config, calibrate, raw_validation, validation_labels, bootstrap.seed)
    report: dict = {
        "default": policies.default,
        "min_flags": config.min_flags,
        "flag_confidence": config.flag_confidence,
        "policies": {},
    }
    thresholds = policies.as_json()["policies"]
    for name in policies.names:
        policy = policies.get(name)
        validation = policy_figures(policy, calibrated_validation, validation_labels)
        test = policy_figures(policy, calibrated_test, test_labels, bootstrap)
        report["policies"][name] = {
            "thresholds": thresholds[name],
            "validation": {**validation, "targets": targets_met(policy, validation, config.flag_confidence)},
            "validation_out_of_fold": out_of_fold_figures(*out_of_fold[name], validation_labels),
            "test": {**test, "targets": targets_met(policy, test, config.flag_confidence)},
        }
    return report
