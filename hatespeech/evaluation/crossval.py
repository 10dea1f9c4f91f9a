"""Cross-validation (the pipeline in cv/pipeline.yaml, `make cv`): which folds exist, and each model's per-fold test
metrics summarized as mean and standard deviation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hatespeech import LABELS, PipelineError
from hatespeech.io import read_json
from hatespeech.metrics import SUMMARY_METRICS, rounded


def fold_ids(params: Mapping[str, Any]) -> list[int]:
    """params' ``cv.folds``: the list 0, 1, ..., k-1 that the CV pipeline's foreach stages run over (k = its length)."""
    folds = (params.get("cv") or {}).get("folds")
    if not isinstance(folds, list) or folds != list(range(len(folds))) or len(folds) < 2:
        raise PipelineError(f"cv.folds must list the fold numbers 0, 1, ..., k-1 for k >= 2 folds, got {folds!r}")
    return folds


def headline(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The summary metrics and each class's F1 (argmax predictions) of one evaluate/baseline test-metrics file."""
    values = {key: float(metrics[key]) for key in SUMMARY_METRICS}
    values.update({f"f1_{name}": float(metrics["per_class"][name]["f1"]) for name in LABELS})
    return values


def summarize(per_fold: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Mean and sample standard deviation over folds of every :func:`headline` metric, plus each fold's values."""
    rows = [headline(metrics) for metrics in per_fold]
    keys = list(rows[0])
    table = np.array([[row[key] for key in keys] for row in rows])
    deviation = table.std(axis=0, ddof=1) if len(rows) > 1 else np.zeros(len(keys))
    return {
        "mean": {key: rounded(value) for key, value in zip(keys, table.mean(axis=0))},
        "std": {key: rounded(value) for key, value in zip(keys, deviation)},
        "per_fold": {f"fold_{i}": row for i, row in enumerate(rows)},
    }


def read_fold_metrics(results: Path, model: str, folds: Sequence[int]) -> list[dict[str, Any]]:
    """``results/fold<i>/<model>/test.json`` for every fold, as the cv pipeline's evaluate stages write them."""
    found = []
    for fold in folds:
        path = results / f"fold{fold}" / model / "test.json"
        found.append(read_json(path, f"fold {fold} of the {model} has not been evaluated"))
    return found
