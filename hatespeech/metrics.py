"""Classification metrics shared by training (per-epoch validation), evaluation and export, and how every output
file rounds a figure. (sklearn is imported where used: the service imports this module for :func:`rounded`.)"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

from hatespeech import LABELS

# Metrics that can choose the best epoch (train.metric_for_best_model); all are "higher is better".
SummaryMetric = Literal["accuracy", "precision_weighted", "recall_weighted", "f1_weighted", "f1_macro"]
SUMMARY_METRICS: tuple[str, ...] = get_args(SummaryMetric)


DECIMALS = 6  # far below run-to-run noise, and JSON diffs stay readable


def rounded(value: float) -> float:
    """A metric, score or probability as every output file writes it: a float to :data:`DECIMALS` decimals."""
    return round(float(value), DECIMALS)


def rounded_array(values: np.ndarray) -> np.ndarray:
    """:func:`rounded` on every element (Python's correctly rounded ``round``, which ``np.round`` is not: at a
    threshold's edge the two can differ), so a decision on an array equals the one on the values as written."""
    return np.vectorize(rounded, otypes=[np.float64])(np.asarray(values, dtype=np.float64))


def macro_f1(labels: np.ndarray, predictions: np.ndarray, classes: int) -> float:
    """Macro F1 from a confusion matrix, unrounded (fast enough to call thousands of times in a search)."""
    confusion = np.bincount(labels * classes + predictions, minlength=classes * classes).reshape(classes, classes)
    true_positives = np.diag(confusion).astype(np.float64)
    denominator = confusion.sum(axis=0) + confusion.sum(axis=1)
    f1 = np.divide(2 * true_positives, denominator, out=np.zeros(classes), where=denominator > 0)
    return float(f1.mean())


def summary_metrics(labels: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    """Accuracy, weighted precision/recall/F1 (the seed's metrics) and macro F1."""
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    ids = list(range(len(LABELS)))
    precision, recall, f1, _ = precision_recall_fscore_support(
        labels, predictions, labels=ids, average="weighted", zero_division=0
    )
    return {
        "accuracy": rounded(accuracy_score(labels, predictions)),
        "precision_weighted": rounded(precision),
        "recall_weighted": rounded(recall),
        "f1_weighted": rounded(f1),
        "f1_macro": rounded(f1_score(labels, predictions, labels=ids, average="macro", zero_division=0)),
    }


def classification_metrics(labels: np.ndarray, predictions: np.ndarray) -> dict:
    """:func:`summary_metrics` plus precision, recall, F1 and support for each class."""
    from sklearn.metrics import precision_recall_fscore_support

    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predictions, labels=list(range(len(LABELS))), zero_division=0
    )
    per_class = {
        name: {
            "precision": rounded(precision[i]),
            "recall": rounded(recall[i]),
            "f1": rounded(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(LABELS)
    }
    return {**summary_metrics(labels, predictions), "examples": int(len(labels)), "per_class": per_class}
