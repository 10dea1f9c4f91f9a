"""How sure a test figure is: percentile bootstrap intervals, and paired tests between two models' predictions.

Every resample draws test rows with replacement; all resamples' confusion matrices are built in one
``np.bincount``, so 1,000 resamples of a few thousand rows take well under a second. The metrics computed
from a confusion matrix are exactly :func:`hatespeech.metrics.classification_metrics`' (sklearn's, with
``zero_division=0``); a test checks that.

Paired comparison (the same rows, two models): the paired bootstrap resamples rows once and scores both
models on each resample, so the interval is the one of the *difference*; McNemar's exact test asks whether
the rows only one model gets right lean to one side more than chance would allow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hatespeech import LABELS, PipelineError
from hatespeech.config import PARAMS_YAML, BaseConfig, Section
from hatespeech.metrics import rounded

CONFIDENCE = 0.95  # the interval's coverage; metrics files call the block "ci95"
INTERVAL_KEY = "ci95"


@dataclass(frozen=True)
class BootstrapConfig(Section):
    """params.yaml's ``bootstrap`` section."""

    SECTION = "bootstrap"

    resamples: int = PARAMS_YAML

    def validate(self) -> None:
        if self.resamples < 100:
            raise PipelineError(f"bootstrap.resamples must be at least 100 for a 95% interval, got {self.resamples}")


@dataclass(frozen=True)
class Bootstrap:
    """How the test split's intervals are drawn: params.yaml's ``bootstrap`` section and ``base.seed``."""

    config: BootstrapConfig
    seed: int

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Bootstrap:
        """From a whole params.yaml: its ``bootstrap`` section (defaults if absent) and ``base.seed``."""
        return cls(BootstrapConfig.of(params), BaseConfig.of(params).seed)


def metric_names() -> tuple[str, ...]:
    """The metrics an interval is computed for: the summary metrics and each class's F1."""
    return (
        "accuracy",
        "precision_weighted",
        "recall_weighted",
        "f1_weighted",
        "f1_macro",
        *(f"f1_{name}" for name in LABELS),
    )


def bootstrap_indices(rows: int, resamples: int, seed: int) -> np.ndarray:
    """``resamples`` x ``rows`` row indices drawn with replacement; the same seed gives the same draws."""
    if rows == 0:
        raise PipelineError("cannot bootstrap an empty split")
    return np.random.default_rng(seed).integers(0, rows, size=(resamples, rows))


def confusion_matrices(labels: np.ndarray, predictions: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """One confusion matrix (actual x predicted) per row of ``indices``: shape (resamples, classes, classes)."""
    classes = len(LABELS)
    resamples = indices.shape[0]
    cells = labels[indices] * classes + predictions[indices] + np.arange(resamples)[:, None] * classes * classes
    return np.bincount(cells.ravel(), minlength=resamples * classes * classes).reshape(resamples, classes, classes)


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    # sklearn's zero_division=0: a ratio with nothing below it is 0
    return np.divide(numerator, denominator, out=np.zeros(numerator.shape), where=denominator > 0)


def metrics_from_confusion(confusion: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric of :func:`metric_names` for each confusion matrix in ``confusion`` (resamples, k, k)."""
    true_positives = np.diagonal(confusion, axis1=1, axis2=2).astype(float)
    support = confusion.sum(axis=2).astype(float)
    predicted = confusion.sum(axis=1).astype(float)
    total = support.sum(axis=1)
    precision = _divide(true_positives, predicted)
    recall = _divide(true_positives, support)
    f1 = _divide(2 * true_positives, support + predicted)
    weights = support / total[:, None]
    values = {
        "accuracy": true_positives.sum(axis=1) / total,
        "precision_weighted": (precision * weights).sum(axis=1),
        "recall_weighted": (recall * weights).sum(axis=1),
        "f1_weighted": (f1 * weights).sum(axis=1),
        "f1_macro": f1.mean(axis=1),
    }
    values.update({f"f1_{name}": f1[:, i] for i, name in enumerate(LABELS)})
    return values


def _p_value(value: float) -> float:
    # significant digits, not decimals: a p-value of 2e-12 must not print as 0
    return float(f"{min(1.0, value):.4g}")


def _percentiles(samples: np.ndarray) -> tuple[float, float]:
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return rounded(low), rounded(high)


def interval(samples: np.ndarray) -> dict[str, float | None]:
    """The 95% percentile interval of bootstrap ``samples`` (resamples where the figure is undefined, NaN, are
    left out; None when every one is)."""
    samples = np.asarray(samples, dtype=np.float64)
    samples = samples[~np.isnan(samples)]
    if len(samples) == 0:
        return {"low": None, "high": None}
    return dict(zip(("low", "high"), _percentiles(samples)))


def confidence_intervals(
    labels: np.ndarray, predictions: np.ndarray, resamples: int = 1000, seed: int = 0
) -> dict[str, dict[str, float]]:
    """95% percentile-bootstrap interval of each metric: ``{metric: {"low": ..., "high": ...}}``."""
    indices = bootstrap_indices(len(labels), resamples, seed)
    samples = metrics_from_confusion(confusion_matrices(labels, predictions, indices))
    return {name: dict(zip(("low", "high"), _percentiles(samples[name]))) for name in metric_names()}


def _bootstrap_p_value(differences: np.ndarray) -> float:
    """Two-sided: how often a resample's difference falls on the other side of zero, (count + 1) / (B + 1)
    so that a finite number of resamples never claims p = 0."""
    below, above = int((differences <= 0).sum()), int((differences >= 0).sum())
    return min(1.0, 2 * (min(below, above) + 1) / (len(differences) + 1))


def bootstrap_p_value(differences: np.ndarray) -> float:
    """The two-sided bootstrap p-value of paired ``differences`` (resamples where the figure is undefined, NaN,
    left out), to 4 significant digits."""
    differences = np.asarray(differences, dtype=np.float64)
    return _p_value(_bootstrap_p_value(differences[~np.isnan(differences)]))


NAMES = ("reference", "candidate")  # how a comparison's two sides are keyed unless named


def mcnemar(
    labels: np.ndarray,
    reference: np.ndarray,
    candidate: np.ndarray,
    names: tuple[str, str] = NAMES,
) -> dict[str, float | int]:
    """McNemar's exact test on the rows exactly one of the two models classifies correctly."""
    from scipy.stats import binomtest  # here, not at the top: scipy.stats takes half a second to import

    reference_right, candidate_right = reference == labels, candidate == labels
    reference_only = int((reference_right & ~candidate_right).sum())
    candidate_only = int((candidate_right & ~reference_right).sum())
    discordant = reference_only + candidate_only
    p_value = 1.0 if discordant == 0 else binomtest(min(reference_only, candidate_only), discordant, 0.5).pvalue
    return {
        f"{names[0]}_only_correct": reference_only,
        f"{names[1]}_only_correct": candidate_only,
        "p_value": _p_value(p_value),
    }


def paired_comparison(
    labels: np.ndarray,
    reference: np.ndarray,
    candidate: np.ndarray,
    resamples: int = 1000,
    seed: int = 0,
    names: tuple[str, str] = NAMES,
) -> dict:
    """``candidate`` against ``reference`` on the same rows: per metric both values (keyed by ``names``), the
    difference (candidate - reference) with its 95% paired-bootstrap interval and p-value; McNemar's test."""
    if not len(labels) == len(reference) == len(candidate):
        raise PipelineError(
            f"paired comparison needs predictions for the same rows: {len(labels)} labels, "
            f"{len(reference)} and {len(candidate)} predictions"
        )
    indices = bootstrap_indices(len(labels), resamples, seed)
    everything = np.arange(len(labels))[None, :]
    points, samples = [], []
    for predictions in (reference, candidate):
        points.append(metrics_from_confusion(confusion_matrices(labels, predictions, everything)))
        samples.append(metrics_from_confusion(confusion_matrices(labels, predictions, indices)))
    comparison: dict = {}
    for metric in metric_names():
        old, new = points[0][metric][0], points[1][metric][0]
        differences = samples[1][metric] - samples[0][metric]
        low, high = _percentiles(differences)
        comparison[metric] = {
            names[0]: rounded(old),
            names[1]: rounded(new),
            "difference": rounded(new - old),
            "low": low,
            "high": high,
            "p_value": bootstrap_p_value(differences),
        }
    comparison["mcnemar"] = mcnemar(labels, reference, candidate, names)
    return comparison
