"""Classification metrics shared by training (per-epoch validation) and evaluation."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from hatespeech import LABELS

# Metrics that can choose the best epoch (train.metric_for_best_model); all are "higher is better".
SUMMARY_METRICS = ("accuracy", "precision_weighted", "recall_weighted", "f1_weighted", "f1_macro")


def _round(value: float) -> float:
    # Six decimals are far below run-to-run noise and keep the JSON diffs readable.
    return round(float(value), 6)


def summary_metrics(labels: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    """Accuracy, weighted precision/recall/F1 (the seed's metrics) and macro F1."""
    ids = list(range(len(LABELS)))
    precision, recall, f1, _ = precision_recall_fscore_support(
        labels, predictions, labels=ids, average="weighted", zero_division=0
    )
    return {
        "accuracy": _round(accuracy_score(labels, predictions)),
        "precision_weighted": _round(precision),
        "recall_weighted": _round(recall),
        "f1_weighted": _round(f1),
        "f1_macro": _round(f1_score(labels, predictions, labels=ids, average="macro", zero_division=0)),
    }


def classification_metrics(labels: np.ndarray, predictions: np.ndarray) -> dict:
    """:func:`summary_metrics` plus precision, recall, F1 and support for each class."""
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predictions, labels=list(range(len(LABELS))), zero_division=0
    )
    per_class = {
        name: {
            "precision": _round(precision[i]),
            "recall": _round(recall[i]),
            "f1": _round(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(LABELS)
    }
    return {**summary_metrics(labels, predictions), "examples": int(len(labels)), "per_class": per_class}
