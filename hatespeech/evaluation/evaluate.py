"""Evaluate a classifier's class probabilities on a split: metrics under argmax and under the tuned decision
rule, 95% bootstrap intervals on the test split, plot data for DVC (:mod:`~hatespeech.evaluation.plots`), every
row's prediction (:mod:`~hatespeech.evaluation.predictions`), and an error-analysis report
(:mod:`~hatespeech.evaluation.report`). The transformer and the baseline share all of it, so their files have
the same shape and `dvc metrics show` / `dvc plots show` put them side by side."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hatespeech import LABELS
from hatespeech.config import PARAMS_YAML, Section
from hatespeech.evaluation.plots import confusion_records, precision_recall_records
from hatespeech.evaluation.predictions import predictions_table
from hatespeech.evaluation.report import Explainer, error_report, misclassified
from hatespeech.evaluation.stats import INTERVAL_KEY, Bootstrap, confidence_intervals
from hatespeech.io import atomic_output, write_json, write_table
from hatespeech.metrics import classification_metrics
from hatespeech.model.decision import DecisionRule


@dataclass(frozen=True)
class EvaluationOutputs:
    """Where one model's evaluation goes (every path comes from the stage's command in dvc.yaml)."""

    test_metrics: Path
    validation_metrics: Path
    plots_dir: Path
    report_dir: Path
    predictions: Path

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--test-metrics", required=True, type=Path)
        parser.add_argument("--validation-metrics", required=True, type=Path)
        parser.add_argument("--plots-dir", required=True, type=Path, help="confusion records, precision-recall curves")
        parser.add_argument("--report-dir", required=True, type=Path, help="error analysis and misclassified tweets")
        parser.add_argument("--predictions", required=True, type=Path, help="every row's probabilities (parquet)")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> EvaluationOutputs:
        return cls(args.test_metrics, args.validation_metrics, args.plots_dir, args.report_dir, args.predictions)


@dataclass(frozen=True)
class EvaluateConfig(Section):
    """params.yaml's ``evaluate`` section."""

    SECTION = "evaluate"
    batch_size: int = PARAMS_YAML


def _scored(labels: np.ndarray, predictions: np.ndarray, bootstrap: Bootstrap | None) -> dict:
    metrics = classification_metrics(labels, predictions)
    if bootstrap is not None:
        metrics[INTERVAL_KEY] = confidence_intervals(labels, predictions, bootstrap.config.resamples, bootstrap.seed)
    return metrics


def split_report(
    labels: np.ndarray, probabilities: np.ndarray, rule: DecisionRule, bootstrap: Bootstrap | None = None
) -> dict:
    """Metrics with plain argmax (top level) and with the decision rule (under ``tuned``); with ``bootstrap``,
    each block also holds 95% intervals under ``ci95`` (``{metric: {low, high}}``)."""
    return {
        **_scored(labels, probabilities.argmax(axis=1), bootstrap),
        "tuned": _scored(labels, rule.predict(probabilities), bootstrap),
    }


def write_evaluation(
    title: str,
    labels: dict[str, np.ndarray],
    probabilities: dict[str, np.ndarray],
    rule: DecisionRule,
    texts: dict[str, pd.DataFrame],
    outputs: EvaluationOutputs,
    bootstrap: Bootstrap,
    explain: Explainer | None = None,
) -> dict:
    """Write every evaluation output for one model; ``labels``/``probabilities``/``texts`` hold the test and
    validation splits; ``explain`` adds token explanations to the error analysis. Returns the test metrics."""
    metrics = split_report(labels["test"], probabilities["test"], rule, bootstrap)
    write_json(outputs.validation_metrics, split_report(labels["validation"], probabilities["validation"], rule))
    predictions = rule.predict(probabilities["test"])
    errors = misclassified(texts["test"], labels["test"], probabilities["test"], predictions)
    with atomic_output(outputs.plots_dir, directory=True) as plots:
        write_json(plots / "confusion_test.json", confusion_records(labels["test"], predictions))
        for class_id, name in enumerate(LABELS):
            write_json(
                plots / f"pr_{name}.json", precision_recall_records(labels["test"], probabilities["test"], class_id)
            )
    with atomic_output(outputs.report_dir, directory=True) as report:
        analysis = error_report(title, metrics, errors, explain=explain)
        (report / "error_analysis.md").write_text(analysis, encoding="utf-8")
        lines = (json.dumps(row, ensure_ascii=False) + "\n" for row in errors)
        (report / "misclassified_test.jsonl").write_text("".join(lines), encoding="utf-8")
    with atomic_output(outputs.predictions) as table:
        splits = ("test", "validation")
        rows = [predictions_table(s, texts[s], labels[s], probabilities[s], rule) for s in splits]
        write_table(pd.concat(rows, ignore_index=True), table)
    write_json(outputs.test_metrics, metrics)  # last: DVC's git-tracked metric appears only with everything else
    return metrics
