"""Every row's prediction, kept as a table (predictions/*.parquet), and the paired comparison of two models' or
two revisions' tables on the same rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hatespeech import LABEL, LABELS, TEXT, PipelineError
from hatespeech.data.text import text_id
from hatespeech.evaluation.stats import Bootstrap, paired_comparison
from hatespeech.io import read_table
from hatespeech.model.decision import DecisionRule


def predictions_table(
    split: str, texts: pd.DataFrame, labels: np.ndarray, probabilities: np.ndarray, rule: DecisionRule
) -> pd.DataFrame:
    """One row per example: its text id, label, each class's probability, argmax and decision-rule labels."""
    check_aligned(texts, labels)
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


def check_aligned(texts: pd.DataFrame, labels: np.ndarray) -> None:
    """The split's texts and labels are the tokenized rows' (same count, same labels, same order)."""
    if len(texts) != len(labels) or not np.array_equal(texts[LABEL].to_numpy(), labels):
        raise PipelineError("the split's texts do not line up with its tokenized rows: rerun the tokenize stage")


def aligned_split(predictions: pd.DataFrame, split: pd.DataFrame) -> pd.DataFrame:
    """``split``'s rows (a split stage file), checked to be the rows of ``predictions`` (one split of a predictions
    table) in the same order."""
    same = len(split) == len(predictions) and np.array_equal(
        split[TEXT].map(text_id).to_numpy(), predictions["text_id"].to_numpy()
    )
    if not same:
        raise PipelineError("the predictions are not of the split's rows: rerun the evaluate stage")
    return split.reset_index(drop=True)


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
