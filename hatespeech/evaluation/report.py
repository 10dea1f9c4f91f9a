"""The error-analysis report: class scores, top confusions with example tweets, the most confident mistakes, and
the tokens behind the hate-speech ones (reports/<model>/error_analysis.md and misclassified_test.jsonl)."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from hatespeech import LABELS, TEXT
from hatespeech.evaluation.predictions import check_aligned
from hatespeech.evaluation.stats import INTERVAL_KEY
from hatespeech.metrics import rounded


def misclassified(
    texts: pd.DataFrame, labels: np.ndarray, probabilities: np.ndarray, predictions: np.ndarray
) -> list[dict]:
    """Wrongly classified examples, most confident mistakes first."""
    check_aligned(texts, labels)
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
