"""Stratified train/validation/test split that keeps near-duplicate tweets together."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from hatespeech import LABELS, PipelineError
from hatespeech.data import LABEL, TEXT, class_counts, read_table

SPLITS = ("train", "validation", "test")

_RETWEET = re.compile(r"\brt\b")
_MENTION = re.compile(r"@\w+")
_URL = re.compile(r"(?:https?://|www\.)\S+")
_NON_WORD = re.compile(r"[^\w\s]|_")
_SPACES = re.compile(r"\s+")


class SplitError(PipelineError):
    """The data cannot be split as asked (too few rows of a class, bad sizes)."""


def near_duplicate_key(text: str) -> str:
    """The text with case, RT markers, @mentions, URLs, punctuation and extra whitespace removed.

    Retweets and copies of one tweet share this key, so they can be kept in one split.
    """
    text = html.unescape(text).lower()
    text = _URL.sub(" ", text)
    text = _MENTION.sub(" ", text)
    text = _NON_WORD.sub(" ", text)
    text = _RETWEET.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def _check_sizes(validation_size: float, test_size: float) -> None:
    for name, size in (("validation_size", validation_size), ("test_size", test_size)):
        if not 0 < size < 1:
            raise SplitError(f"split.{name} must be a fraction between 0 and 1, got {size}")
    if validation_size + test_size >= 1:
        raise SplitError(
            f"split.validation_size + split.test_size must leave rows for training, got {validation_size + test_size}"
        )


def _stratified(groups: pd.DataFrame, size: float, seed: int, what: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    try:
        rest, held_out = train_test_split(groups, test_size=size, stratify=groups[LABEL], random_state=seed)
    except ValueError as exc:  # sklearn: too few members of a class, or a split smaller than the class count
        counts = class_counts(groups[LABEL])
        raise SplitError(
            f"cannot split off the {what} split stratified by class: {exc}. "
            f"Distinct tweets per class (after near-duplicate grouping): {counts}"
        ) from exc
    return rest, held_out


def split_dataset(
    frame: pd.DataFrame, validation_size: float = 0.1, test_size: float = 0.1, seed: int = 42
) -> dict[str, pd.DataFrame]:
    """Split rows into train/validation/test, stratified by label, near-duplicates in the same split.

    Rows are grouped by :func:`near_duplicate_key`; each group takes its most common label (the
    lowest id on a tie) for stratification and goes to one split as a whole. Every class must reach
    every split, otherwise :class:`SplitError` says which class is short and by how much.
    """
    _check_sizes(validation_size, test_size)
    keys = frame[TEXT].map(near_duplicate_key)
    votes = pd.crosstab(keys.rename("key"), frame[LABEL])  # rows sorted by key: deterministic
    groups = pd.DataFrame({"key": votes.index, LABEL: votes.idxmax(axis=1).to_numpy()})
    rest, test = _stratified(groups, test_size, seed, "test")
    train, validation = _stratified(rest, validation_size / (1 - test_size), seed, "validation")

    split_of_key = {
        **dict.fromkeys(train["key"], "train"),
        **dict.fromkeys(validation["key"], "validation"),
        **dict.fromkeys(test["key"], "test"),
    }
    assignment = keys.map(split_of_key)
    splits = {name: frame[assignment == name].reset_index(drop=True) for name in SPLITS}
    for name, part in splits.items():
        counts = class_counts(part[LABEL])
        for label, count in counts.items():
            if count == 0:
                total = int((frame[LABEL] == LABELS.index(label)).sum())
                raise SplitError(
                    f"class '{label}' has no rows in the {name} split: it has only {total} row(s) in all "
                    f"({len(frame)} rows); add data or change split.validation_size / split.test_size"
                )
    return splits


def split_stats(frame: pd.DataFrame, splits: dict[str, pd.DataFrame]) -> dict:
    keys = frame[TEXT].map(near_duplicate_key)
    group_sizes = keys.value_counts()
    return {
        "rows": len(frame),
        "near_duplicate_groups": int((group_sizes > 1).sum()),
        "rows_in_near_duplicate_groups": int(group_sizes[group_sizes > 1].sum()),
        "splits": {
            name: {"rows": len(part), "class_counts": class_counts(part[LABEL])} for name, part in splits.items()
        },
    }


def read_splits(directory: str) -> dict[str, pd.DataFrame]:
    """The split files written by the split stage, in train/validation/test order."""
    missing = [name for name in SPLITS if not (Path(directory) / f"{name}.parquet").is_file()]
    if missing:
        raise SplitError(f"{directory} lacks {', '.join(missing)}.parquet: run the split stage first")
    return {name: read_table(Path(directory) / f"{name}.parquet") for name in SPLITS}
