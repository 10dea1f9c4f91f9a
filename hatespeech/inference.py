"""Batched inference: length-sorted batches padded per batch, results in the input's order."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hatespeech.decision import softmax
from hatespeech.modeling import load_classifier, load_tokenizer


def _batches(order: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


@torch.inference_mode()
def predict_logits(model: Any, tokenizer: Any, encodings: Sequence[dict[str, list[int]]], batch_size: int = 64) -> np.ndarray:
    """Logits for token-id ``encodings`` (``input_ids`` etc., unpadded), in the order given.

    Sorting by length first means each batch pads only to its own longest member.
    """
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    model.eval()
    device = next(model.parameters()).device
    lengths = np.array([len(item["input_ids"]) for item in encodings])
    order = np.argsort(lengths, kind="stable")
    logits = np.zeros((len(encodings), model.config.num_labels), dtype=np.float32)
    for batch_ids in _batches(order, batch_size):
        features = [
            {key: value for key, value in encodings[i].items() if key in tokenizer.model_input_names} for i in batch_ids
        ]
        batch = tokenizer.pad(features, return_tensors="pt")
        logits[batch_ids] = model(**{k: v.to(device) for k, v in batch.items()}).logits.float().cpu().numpy()
    return logits


class Classifier:
    """A trained model directory, loaded once, classifying raw texts."""

    def __init__(self, model_dir: str | Path, max_length: int | None = None) -> None:
        self.tokenizer = load_tokenizer(str(model_dir))
        self.model = load_classifier(str(model_dir))
        self.labels = [self.model.config.id2label[i] for i in range(self.model.config.num_labels)]
        self.max_length = max_length or min(self.tokenizer.model_max_length, 512)

    def predict(self, texts: Sequence[str], batch_size: int = 64) -> list[dict[str, Any]]:
        """Label and per-class scores for each text, in the input order."""
        encodings = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)
        rows = [{key: encodings[key][i] for key in encodings} for i in range(len(texts))]
        probabilities = softmax(predict_logits(self.model, self.tokenizer, rows, batch_size))
        return [
            {
                "label": self.labels[int(p.argmax())],
                "score": round(float(p.max()), 6),
                "scores": {label: round(float(s), 6) for label, s in zip(self.labels, p)},
            }
            for p in probabilities
        ]
