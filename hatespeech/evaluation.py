"""Evaluate a classifier's class probabilities on a split: metrics under argmax and under the tuned decision
rule, plot data for DVC, and an error-analysis report. The transformer and the baseline share all of it, so
their files have the same shape and `dvc metrics show` / `dvc plots show` put them side by side."""

from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve

from hatespeech import LABEL, LABELS, TEXT, PipelineError
from hatespeech.decision import DecisionRule
from hatespeech.files import atomic_output, write_json
from hatespeech.metrics import classification_metrics

PR_POINTS = 200  # points kept per precision-recall curve: plenty for a plot, small in git and in the cache


def split_report(labels: np.ndarray, probabilities: np.ndarray, rule: DecisionRule) -> dict:
    """Metrics with plain argmax (top level) and with the decision rule (under ``tuned``)."""
    return {
        **classification_metrics(labels, probabilities.argmax(axis=1)),
        "tuned": classification_metrics(labels, rule.predict(probabilities)),
    }


def confusion_records(labels: np.ndarray, predictions: np.ndarray) -> list[dict[str, str]]:
    """One ``{actual, predicted}`` record per example: the input of DVC's confusion plot templates."""
    return [{"actual": LABELS[a], "predicted": LABELS[p]} for a, p in zip(labels, predictions)]


def precision_recall_records(labels: np.ndarray, probabilities: np.ndarray, class_id: int) -> list[dict[str, float]]:
    """One class's precision-recall curve (one-vs-rest on its probability), thinned to about PR_POINTS points."""
    precision, recall, _ = precision_recall_curve(labels == class_id, probabilities[:, class_id])
    keep = np.unique(np.linspace(0, len(precision) - 1, min(PR_POINTS, len(precision))).round().astype(int))
    return [{"recall": round(float(recall[i]), 6), "precision": round(float(precision[i]), 6)} for i in keep]


def _check_aligned(texts: pd.DataFrame, labels: np.ndarray) -> None:
    if len(texts) != len(labels) or not np.array_equal(texts[LABEL].to_numpy(), labels):
        raise PipelineError("the split's texts do not line up with its tokenized rows: rerun the tokenize stage")


def misclassified(
    texts: pd.DataFrame, labels: np.ndarray, probabilities: np.ndarray, predictions: np.ndarray
) -> list[dict]:
    """Wrongly classified examples, most confident mistakes first."""
    _check_aligned(texts, labels)
    wrong = np.flatnonzero(predictions != labels)
    wrong = wrong[np.argsort(-probabilities[wrong, predictions[wrong]], kind="stable")]
    return [
        {
            "text": texts[TEXT].iloc[i],
            "label": LABELS[labels[i]],
            "predicted": LABELS[predictions[i]],
            "confidence": round(float(probabilities[i, predictions[i]]), 6),
            "scores": {name: round(float(s), 6) for name, s in zip(LABELS, probabilities[i])},
        }
        for i in wrong
    ]


def _cell(text: str, limit: int = 180) -> str:
    """A tweet as one Markdown table cell: one line, pipes escaped, long ones cut."""
    flat = " ".join(html.unescape(str(text)).split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def error_report(title: str, metrics: dict, errors: list[dict], examples_per_confusion: int = 3, top: int = 15) -> str:
    """A Markdown error analysis: class support and scores, the top confusions with example tweets, and the
    tweets the model is most confidently wrong about (``errors`` as from :func:`misclassified`)."""
    tuned = metrics["tuned"]
    lines = [
        f"# Error analysis: {title}",
        "",
        f"{metrics['examples']} test tweets; predictions use the tuned decision rule. "
        f"Accuracy {tuned['accuracy']:.4f}, weighted F1 {tuned['f1_weighted']:.4f}, macro F1 {tuned['f1_macro']:.4f} "
        f"(argmax: {metrics['accuracy']:.4f}, {metrics['f1_weighted']:.4f}, {metrics['f1_macro']:.4f}).",
        "",
        "## Classes",
        "",
        "| class | support | precision | recall | F1 |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, scores in tuned["per_class"].items():
        cells = [str(scores["support"]), *(f"{scores[key]:.4f}" for key in ("precision", "recall", "f1"))]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    confusions = Counter((e["label"], e["predicted"]) for e in errors)
    lines += ["", "## Top confusions", ""]
    if not confusions:
        lines.append("No test tweet is misclassified.")
    for (actual, predicted), count in confusions.most_common():
        lines += [f"### {actual} → {predicted}: {count} tweets", "", "| confidence | tweet |", "|---:|---|"]
        examples = [e for e in errors if (e["label"], e["predicted"]) == (actual, predicted)][:examples_per_confusion]
        lines += [f"| {e['confidence']:.3f} | {_cell(e['text'])} |" for e in examples]
        lines.append("")
    lines += [
        f"## The {min(top, len(errors))} most confident mistakes",
        "",
        "| label | predicted | confidence | tweet |",
        "|---|---|---:|---|",
    ]
    lines += [f"| {e['label']} | {e['predicted']} | {e['confidence']:.3f} | {_cell(e['text'])} |" for e in errors[:top]]
    return "\n".join(lines) + "\n"


def write_evaluation(
    title: str,
    labels: dict[str, np.ndarray],
    probabilities: dict[str, np.ndarray],
    rule: DecisionRule,
    test_texts: pd.DataFrame,
    test_metrics: str | Path,
    validation_metrics: str | Path,
    plots_dir: str | Path,
    report_dir: str | Path,
) -> dict:
    """Write every evaluation output for one model; ``labels``/``probabilities`` hold the test and validation
    splits. Returns the test metrics."""
    metrics = split_report(labels["test"], probabilities["test"], rule)
    write_json(validation_metrics, split_report(labels["validation"], probabilities["validation"], rule))
    predictions = rule.predict(probabilities["test"])
    errors = misclassified(test_texts, labels["test"], probabilities["test"], predictions)
    with atomic_output(plots_dir, directory=True) as plots:
        write_json(plots / "confusion_test.json", confusion_records(labels["test"], predictions))
        for class_id, name in enumerate(LABELS):
            write_json(
                plots / f"pr_{name}.json", precision_recall_records(labels["test"], probabilities["test"], class_id)
            )
    with atomic_output(report_dir, directory=True) as report:
        (report / "error_analysis.md").write_text(error_report(title, metrics, errors), encoding="utf-8")
        lines = (json.dumps(row, ensure_ascii=False) + "\n" for row in errors)
        (report / "misclassified_test.jsonl").write_text("".join(lines), encoding="utf-8")
    write_json(test_metrics, metrics)  # last: DVC's git-tracked metric appears only with everything else
    return metrics
