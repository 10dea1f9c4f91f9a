"""Evaluate a classifier's class probabilities on a split: metrics under argmax and under the tuned decision
rule, 95% bootstrap intervals on the test split, plot data for DVC, every row's prediction, and an
error-analysis report. The transformer and the baseline share all of it, so their files have the same shape
and `dvc metrics show` / `dvc plots show` put them side by side."""

from __future__ import annotations

import argparse
import hashlib
import html
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve

from hatespeech import LABEL, LABELS, TEXT, PipelineError
from hatespeech.config import BaseConfig, Section
from hatespeech.evaluation.stats import INTERVAL_KEY, BootstrapConfig, confidence_intervals, paired_comparison
from hatespeech.io import atomic_output, read_table, write_json, write_table
from hatespeech.metrics import classification_metrics, rounded
from hatespeech.model.decision import DecisionRule

PR_POINTS = 200  # points kept per precision-recall curve: plenty for a plot, small in git and in the cache


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
    batch_size: int = 64  # texts per forward pass


@dataclass(frozen=True)
class Bootstrap:
    """How the test split's intervals are drawn: params.yaml's ``bootstrap`` section and ``base.seed``."""

    config: BootstrapConfig
    seed: int

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Bootstrap:
        """From a whole params.yaml: its ``bootstrap`` section (defaults if absent) and ``base.seed``."""
        return cls(BootstrapConfig.of(params), BaseConfig.of(params).seed)


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


def text_id(text: str) -> str:
    """A short digest of a tweet: it pairs predictions of two runs row by row without copying the text."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def predictions_table(
    split: str, texts: pd.DataFrame, labels: np.ndarray, probabilities: np.ndarray, rule: DecisionRule
) -> pd.DataFrame:
    """One row per example: its text id, label, each class's probability, argmax and decision-rule labels."""
    _check_aligned(texts, labels)
    return pd.DataFrame(
        {
            "split": split,
            "row": np.arange(len(labels)),
            "text_id": texts[TEXT].map(text_id).to_numpy(),
            "label": labels,
            **{f"p_{name}": probabilities[:, i] for i, name in enumerate(LABELS)},
            "predicted": probabilities.argmax(axis=1),
            "predicted_tuned": rule.predict(probabilities),
        }
    )


def confusion_records(labels: np.ndarray, predictions: np.ndarray) -> list[dict[str, str]]:
    """One ``{actual, predicted}`` record per example: the input of DVC's confusion plot templates."""
    return [{"actual": LABELS[a], "predicted": LABELS[p]} for a, p in zip(labels, predictions)]


def precision_recall_records(labels: np.ndarray, probabilities: np.ndarray, class_id: int) -> list[dict[str, float]]:
    """One class's precision-recall curve (one-vs-rest on its probability), thinned to about PR_POINTS points."""
    precision, recall, _ = precision_recall_curve(labels == class_id, probabilities[:, class_id])
    keep = np.unique(np.linspace(0, len(precision) - 1, min(PR_POINTS, len(precision))).round().astype(int))
    return [{"recall": rounded(recall[i]), "precision": rounded(precision[i])} for i in keep]


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
            "confidence": rounded(probabilities[i, predictions[i]]),
            "scores": {name: rounded(s) for name, s in zip(LABELS, probabilities[i])},
        }
        for i in wrong
    ]


def _cell(text: str, limit: int = 180) -> str:
    """A tweet as one Markdown table cell: one line, pipes escaped, long ones cut."""
    flat = " ".join(html.unescape(str(text)).split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


Explainer = Callable[[Sequence[str]], list[dict[str, Any]]]  # texts -> explanations (hatespeech.evaluation.explain)
EXPLAINED_MISTAKES = 10  # hate-speech mistakes the report explains: one forward pass per token each


def top_tokens(explanation: dict[str, Any], count: int = 5) -> list[tuple[str, float]]:
    """The ``count`` tokens that pushed hardest towards the label, strongest first (ties: text order)."""
    tokens = [(t["token"], t["score"]) for t in explanation["tokens"] if t["score"] > 0]
    return sorted(tokens, key=lambda item: -item[1])[:count]


def _hate_speech_mistakes(shown: list[dict], explain: Explainer, limit: int = EXPLAINED_MISTAKES) -> list[str]:
    """A section naming, for the hate-speech mistakes the report lists, the tokens that drove each label."""
    mistakes = [e for e in shown if "hate_speech" in (e["label"], e["predicted"])]
    mistakes = list({e["text"]: e for e in mistakes}.values())[:limit]  # listed twice: explained once
    lines = [
        "## Why: the tokens behind the hate-speech mistakes above",
        "",
        "Occlusion (hatespeech/evaluation/explain.py): each token's score is how much the probability of the predicted "
        "label drops when the token is masked; the five strongest are listed.",
        "",
        "| label | predicted | tokens that pushed towards the prediction | tweet |",
        "|---|---|---|---|",
    ]
    if not mistakes:
        return [*lines[:2], "No hate-speech mistake is listed above.", ""]
    for error, explanation in zip(mistakes, explain([e["text"] for e in mistakes])):
        tokens = ", ".join(f"`{token}` {score:.2f}" for token, score in top_tokens(explanation)) or "—"
        lines.append(f"| {error['label']} | {error['predicted']} | {tokens} | {_cell(error['text'], 120)} |")
    return [*lines, ""]


def error_report(
    title: str,
    metrics: dict,
    errors: list[dict],
    examples_per_confusion: int = 3,
    top: int = 15,
    explain: Explainer | None = None,
) -> str:
    """A Markdown error analysis: class support and scores, the top confusions with example tweets, and the
    tweets the model is most confidently wrong about (``errors`` as from :func:`misclassified`); with
    ``explain``, the tokens behind the hate-speech mistakes it lists."""
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
    intervals = tuned.get(INTERVAL_KEY, {})
    if intervals:
        lines[-2:] = [
            "| class | support | precision | recall | F1 | F1 95% interval |",
            "|---|---:|---:|---:|---:|---|",
        ]
    for name, scores in tuned["per_class"].items():
        cells = [str(scores["support"]), *(f"{scores[key]:.4f}" for key in ("precision", "recall", "f1"))]
        if intervals:
            cells.append("{low:.3f}–{high:.3f}".format(**intervals[f"f1_{name}"]))
        lines.append(f"| {name} | {' | '.join(cells)} |")
    confusions = Counter((e["label"], e["predicted"]) for e in errors)
    lines += ["", "## Top confusions", ""]
    if not confusions:
        lines.append("No test tweet is misclassified.")
    shown: list[dict] = []
    for (actual, predicted), count in confusions.most_common():
        lines += [f"### {actual} → {predicted}: {count} tweets", "", "| confidence | tweet |", "|---:|---|"]
        examples = [e for e in errors if (e["label"], e["predicted"]) == (actual, predicted)][:examples_per_confusion]
        lines += [f"| {e['confidence']:.3f} | {_cell(e['text'])} |" for e in examples]
        lines.append("")
        shown += examples
    lines += [
        f"## The {min(top, len(errors))} most confident mistakes",
        "",
        "| label | predicted | confidence | tweet |",
        "|---|---|---:|---|",
    ]
    lines += [f"| {e['label']} | {e['predicted']} | {e['confidence']:.3f} | {_cell(e['text'])} |" for e in errors[:top]]
    if explain is not None:
        lines += ["", *_hate_speech_mistakes(shown + errors[:top], explain)]
    return "\n".join(lines).rstrip("\n") + "\n"


PREDICTION_COLUMNS = ("split", "row", "text_id", "label", "predicted", "predicted_tuned")


def select_predictions(table: pd.DataFrame, source: str, split: str = "test") -> pd.DataFrame:
    """One split's rows of a predictions table written by :func:`write_evaluation`, in row order."""
    missing = [column for column in PREDICTION_COLUMNS if column not in table.columns]
    if missing:
        raise PipelineError(f"{source} lacks column(s) {', '.join(missing)}: is it an evaluate or baseline output?")
    return table[table["split"] == split].sort_values("row").reset_index(drop=True)


def read_predictions(path: str | Path, split: str = "test") -> pd.DataFrame:
    return select_predictions(read_table(path), str(path), split)


def class_probabilities(predictions: pd.DataFrame) -> np.ndarray:
    """The ``p_<class>`` columns of a predictions table, as an (examples, classes) array in LABELS order."""
    return predictions[[f"p_{name}" for name in LABELS]].to_numpy(dtype=np.float64)


def compare_predictions(
    reference: pd.DataFrame, candidate: pd.DataFrame, bootstrap: Bootstrap, names: tuple[str, str]
) -> dict:
    """Paired bootstrap and McNemar's test of two models' predictions on the same rows, under argmax and under
    each model's decision rule; differences are ``names[1]`` minus ``names[0]``."""
    same_rows = len(reference) == len(candidate) and all(
        np.array_equal(reference[column].to_numpy(), candidate[column].to_numpy()) for column in ("text_id", "label")
    )
    if not same_rows:
        raise PipelineError(
            f"{names[0]} and {names[1]} were not evaluated on the same test rows ({len(reference)} and "
            f"{len(candidate)} rows, or other tweets): a paired comparison needs one split"
        )
    labels = reference["label"].to_numpy()
    comparison: dict = {"examples": len(labels)}
    for block, column in (("argmax", "predicted"), ("tuned", "predicted_tuned")):
        comparison[block] = paired_comparison(
            labels,
            reference[column].to_numpy(),
            candidate[column].to_numpy(),
            bootstrap.config.resamples,
            bootstrap.seed,
            names,
        )
    return comparison


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
