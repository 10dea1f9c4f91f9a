"""Plot data for DVC: confusion records and precision-recall curves (dvc.yaml's ``plots`` draw the models
side by side from them)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import precision_recall_curve

from hatespeech import LABELS
from hatespeech.metrics import rounded

PR_POINTS = 200  # points kept per precision-recall curve: plenty for a plot, small in git and in the cache


def confusion_records(labels: np.ndarray, predictions: np.ndarray) -> list[dict[str, str]]:
    """One ``{actual, predicted}`` record per example: the input of DVC's confusion plot templates."""
    return [{"actual": LABELS[a], "predicted": LABELS[p]} for a, p in zip(labels, predictions)]


def precision_recall_records(labels: np.ndarray, probabilities: np.ndarray, class_id: int) -> list[dict[str, float]]:
    """One class's precision-recall curve (one-vs-rest on its probability), thinned to about PR_POINTS points."""
    precision, recall, _ = precision_recall_curve(labels == class_id, probabilities[:, class_id])
    keep = np.unique(np.linspace(0, len(precision) - 1, min(PR_POINTS, len(precision))).round().astype(int))
    return [{"recall": rounded(recall[i]), "precision": rounded(precision[i])} for i in keep]
