"""Tokenize the splits once, without padding; padding happens per batch at train time."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from hatespeech import LABEL, TEXT, VOTE_COLUMNS, WEIGHT, PipelineError
from hatespeech.config import PARAMS_YAML, Section
from hatespeech.data.text import Normalizer
from hatespeech.metrics import rounded
from hatespeech.model.loading import load_tokenizer

LENGTH = "length"  # the Trainer's default length_column_name, so length grouping needs no recount


@dataclass(frozen=True)
class TokenizeConfig(Section):
    """params.yaml's ``tokenize`` section: where texts are truncated (the trained model keeps it)."""

    SECTION = "tokenize"
    max_length: int = PARAMS_YAML


def token_lengths(dataset: Any) -> list[int]:
    """Each example's token count: the ``length`` column tokenize_splits writes, else counted from ``input_ids``."""
    if LENGTH in dataset.column_names:
        return list(dataset[LENGTH])
    return [len(ids) for ids in dataset["input_ids"]]


def _length_stats(lengths: np.ndarray, untruncated: np.ndarray) -> dict[str, float | int]:
    return {
        "examples": int(lengths.size),
        "mean": round(float(lengths.mean()), 2),
        "p95": int(np.percentile(lengths, 95)),
        "p99": int(np.percentile(lengths, 99)),
        "max": int(lengths.max()),
        "max_untruncated": int(untruncated.max()),
        "share_truncated": rounded((untruncated > lengths).mean()),
    }


def tokenize_splits(
    splits: dict[str, pd.DataFrame],
    checkpoint: str,
    max_length: int,
    normalizer: Normalizer | None = None,
    batch_size: int = 1000,
) -> tuple[Any, dict[str, Any]]:
    """Return a ``datasets.DatasetDict`` of token ids (no padding) and token-length statistics per split, of the
    texts as ``normalizer`` cleans them (None: :meth:`Normalizer.legacy`, the raw texts)."""
    import datasets

    if max_length < 8:
        raise PipelineError(f"tokenize.max_length must be at least 8, got {max_length}")
    tokenizer = load_tokenizer(checkpoint)
    if max_length > tokenizer.model_max_length:
        raise PipelineError(
            f"tokenize.max_length {max_length} exceeds the model's limit of {tokenizer.model_max_length} tokens"
        )

    clean = normalizer or Normalizer.legacy()

    def encode(batch: dict[str, list]) -> dict[str, list]:
        encoded = tokenizer(clean.apply(batch[TEXT]), truncation=True, max_length=max_length)
        encoded[LENGTH] = [len(ids) for ids in encoded["input_ids"]]
        return encoded

    # A fixed fingerprint keeps the saved files byte-identical from run to run.
    fingerprint = hashlib.sha256(f"{checkpoint}|{max_length}|{clean}".encode()).hexdigest()[:16]
    tokenized: dict[str, Any] = {}
    split_stats: dict[str, Any] = {}
    stats = {"checkpoint": checkpoint, "max_length": max_length, "normalizer": asdict(clean), "splits": split_stats}
    for name, frame in splits.items():
        # The vote counts and sample weights ride along for training, which folds them into the label rows.
        columns = [TEXT, LABEL, *(c for c in (*VOTE_COLUMNS, WEIGHT) if c in frame.columns)]
        dataset = datasets.Dataset.from_pandas(frame[columns], preserve_index=False)
        dataset = dataset.map(
            encode,
            batched=True,
            batch_size=batch_size,
            remove_columns=[TEXT],
            new_fingerprint=f"{fingerprint}-{name}",
            desc=f"tokenize {name}",
        )
        full = tokenizer(clean.apply(frame[TEXT]))["input_ids"]
        untruncated = np.array([len(ids) for ids in full])
        # Tokens the vocabulary lacks (most emoji, unless normalize.emoji names them): information the model never sees.
        unknown = sum(ids.count(tokenizer.unk_token_id) for ids in full) / max(int(untruncated.sum()), 1)
        split_stats[name] = {**_length_stats(np.array(dataset[LENGTH]), untruncated), "share_unknown": rounded(unknown)}
        tokenized[name] = dataset
    return datasets.DatasetDict(tokenized), stats


def load_tokenized(path: str) -> Any:
    import datasets

    return datasets.load_from_disk(path)
