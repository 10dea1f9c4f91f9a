"""Evaluate a trained model on the tokenized splits: metrics, confusion matrix, misclassified tweets."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from hatespeech import LABEL, TEXT, PipelineError
from hatespeech.decision import softmax
from hatespeech.inference import predict_logits
from hatespeech.metrics import classification_metrics


def evaluate_split(model: Any, tokenizer: Any, dataset: Any, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Return (gold labels, class probabilities) for a tokenized split."""
    encodings = dataset.select_columns([c for c in tokenizer.model_input_names if c in dataset.column_names])
    probabilities = softmax(predict_logits(model, tokenizer, encodings.to_list(), batch_size))
    return np.asarray(dataset[LABEL]), probabilities


def split_report(labels: np.ndarray, probabilities: np.ndarray) -> dict:
    return classification_metrics(labels, probabilities.argmax(axis=1))


def confusion_records(labels: np.ndarray, predictions: np.ndarray, names: list[str]) -> list[dict[str, str]]:
    """One ``{actual, predicted}`` record per example: the input DVC's ``confusion`` plot template expects."""
    return [{"actual": names[a], "predicted": names[p]} for a, p in zip(labels, predictions)]


def misclassified(texts: pd.DataFrame, labels: np.ndarray, probabilities: np.ndarray, names: list[str]) -> list[dict]:
    """Wrongly classified examples, most confident mistakes first, for error analysis."""
    if len(texts) != len(labels) or not np.array_equal(texts[LABEL].to_numpy(), labels):
        raise PipelineError("the split's texts do not line up with its tokenized rows: rerun the tokenize stage")
    predictions = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predictions != labels)
    wrong = wrong[np.argsort(-probabilities[wrong, predictions[wrong]], kind="stable")]
    return [
        {
            "text": texts[TEXT].iloc[i],
            "label": names[labels[i]],
            "predicted": names[predictions[i]],
            "confidence": round(float(probabilities[i, predictions[i]]), 6),
            "scores": {name: round(float(s), 6) for name, s in zip(names, probabilities[i])},
        }
        for i in wrong
    ]
