"""Stratified train/validation/test split that keeps near-duplicate tweets together."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hatespeech import LABELS, PipelineError
from hatespeech.config import PARAMS_YAML, Section
from hatespeech.data.sources import LABEL, TEXT, class_counts
from hatespeech.data.text import mask_tweet, squeeze_spaces
from hatespeech.io import read_table

SPLITS = ("train", "validation", "test")

_RETWEET = re.compile(r"\brt\b")
_NON_WORD = re.compile(r"[^\w\s]|_")


class SplitError(PipelineError):
    """The data cannot be split as asked (too few rows of a class, bad sizes)."""


def near_duplicate_key(text: str) -> str:
    """The text with case, RT markers, @mentions, URLs, punctuation and extra whitespace removed.

    Retweets and copies of one tweet share this key, so they can be kept in one split.
    """
    text = _NON_WORD.sub(" ", mask_tweet(text))
    return squeeze_spaces(_RETWEET.sub(" ", text))


@dataclass(frozen=True)
class SplitConfig(Section):
    """params.yaml's ``split`` section: the shares of all rows in validation and test."""

    SECTION = "split"
    validation_size: float = PARAMS_YAML
    test_size: float = PARAMS_YAML

    def validate(self) -> None:
        _check_sizes(self.validation_size, self.test_size)


def _check_sizes(validation_size: float, test_size: float) -> None:
    for name, size in (("validation_size", validation_size), ("test_size", test_size)):
        if not 0 < size < 1:
            raise SplitError(f"split.{name} must be a fraction between 0 and 1, got {size}")
    if validation_size + test_size >= 1:
        raise SplitError(
            f"split.validation_size + split.test_size must leave rows for training, got {validation_size + test_size}"
        )


def _per_class(groups: pd.DataFrame, frame: pd.DataFrame) -> str:
    # Both counts: near-duplicates are one tweet to the split, but users count rows.
    return f"distinct tweets per class {class_counts(groups[LABEL])}, rows {class_counts(frame[LABEL])}"


def _classes(names: list[str]) -> str:
    return ("class " if len(names) == 1 else "classes ") + ", ".join(map(repr, names))


def _check_every_class_can_reach_every_split(groups: pd.DataFrame, summary: str) -> None:
    tweets = class_counts(groups[LABEL])
    short = [name for name in LABELS if tweets[name] < len(SPLITS)]
    if short:
        raise SplitError(
            f"too few distinct tweets of {_classes(short)} to put one in each of train, validation and test "
            f"(near-duplicates count once); {summary}"
        )


def _stratified(
    groups: pd.DataFrame, size: float, seed: int, what: str, summary: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out ``size`` of ``groups`` for the split ``what``, stratified by label.

    The cases sklearn refuses are checked first: its messages name classes by id and not the split.
    """
    held = math.ceil(size * len(groups))  # rounded as sklearn does
    kept = len(groups) - held
    classes = groups[LABEL].nunique()
    if min(held, kept) < classes:
        rest = "train and validation" if what == "test" else "train"
        short = f"the {what} split" if held < classes else f"the rest ({rest})"
        raise SplitError(
            f"{short} is too small to stratify: {held} of {len(groups)} distinct tweets would go to the {what} "
            f"split and {kept} stay, fewer than one per class ({classes}); add data or change "
            f"split.{what}_size; {summary}"
        )
    tweets = class_counts(groups[LABEL])
    single = [name for name in LABELS if tweets[name] == 1]
    if single:  # a class with 3+ tweets can be left with 1 once the test split is taken
        raise SplitError(
            f"only 1 distinct tweet of {_classes(single)} is left when splitting off the {what} split: too few "
            f"to stratify; add data or change split.validation_size / split.test_size; {summary}"
        )
    from sklearn.model_selection import train_test_split  # here: every stage reads splits, only two make them

    try:
        rest, held_out = train_test_split(groups, test_size=size, stratify=groups[LABEL], random_state=seed)
    except ValueError as exc:  # any other refusal by sklearn
        raise SplitError(f"cannot split off the {what} split stratified by class: {exc}; {summary}") from exc
    return rest, held_out


def _check_table(frame: pd.DataFrame) -> None:
    missing = [column for column in (TEXT, LABEL) if column not in frame.columns]
    if missing:
        raise SplitError(f"the dataset lacks column(s) {', '.join(missing)}: is it the download stage's output?")
    if frame.empty:
        raise SplitError("the dataset has no rows")


def _groups(frame: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """Each row's near-duplicate key, and one row per key with its most common label (lowest id on a tie)."""
    keys = frame[TEXT].map(near_duplicate_key)
    votes = pd.crosstab(keys.rename("key"), frame[LABEL])  # rows sorted by key: deterministic
    return keys, pd.DataFrame({"key": votes.index, LABEL: votes.idxmax(axis=1).to_numpy()})


def _assign(frame: pd.DataFrame, keys: pd.Series, parts: dict[str, pd.DataFrame], summary: str) -> dict:
    """The rows of ``frame`` split as their near-duplicate groups are in ``parts``; every class in every split."""
    split_of_key = {key: name for name, part in parts.items() for key in part["key"]}
    assignment = keys.map(split_of_key)
    splits = {name: frame[assignment == name].reset_index(drop=True) for name in SPLITS}
    for name, part in splits.items():
        for label, count in class_counts(part[LABEL]).items():
            if count == 0:  # stratification rounds a small class down to nothing in a small split
                raise SplitError(
                    f"no rows of class '{label}' in the {name} split: too few to stratify; add data or "
                    f"change split.validation_size / split.test_size; {summary}"
                )
    return splits


def split_dataset(
    frame: pd.DataFrame, validation_size: float = 0.1, test_size: float = 0.1, seed: int = 42
) -> dict[str, pd.DataFrame]:
    """Split rows into train/validation/test, stratified by label, near-duplicates in the same split.

    Rows are grouped by :func:`near_duplicate_key`; each group takes its most common label (the
    lowest id on a tie) for stratification and goes to one split as a whole. Every class must reach
    every split, otherwise :class:`SplitError` says which class is short and by how much.
    """
    _check_sizes(validation_size, test_size)
    _check_table(frame)
    keys, groups = _groups(frame)
    summary = _per_class(groups, frame)
    _check_every_class_can_reach_every_split(groups, summary)
    rest, test = _stratified(groups, test_size, seed, "test", summary)
    train, validation = _stratified(rest, validation_size / (1 - test_size), seed, "validation", summary)
    return _assign(frame, keys, {"train": train, "validation": validation, "test": test}, summary)


def kfold_splits(
    frame: pd.DataFrame, folds: int = 5, validation_size: float = 0.1, seed: int = 42
) -> list[dict[str, pd.DataFrame]]:
    """``folds`` train/validation/test splits for k-fold cross-validation, with :func:`split_dataset`'s rules.

    The near-duplicate groups are dealt into ``folds`` stratified folds; fold i is the test split of split i,
    and ``validation_size`` of all rows is then held out of the others for validation (where each training
    run picks its epoch and decision rule). Every row is in exactly one test split.
    """
    if folds < 2:
        raise SplitError(f"cross-validation needs at least 2 folds, got {folds}")
    _check_sizes(validation_size, 1 / folds)
    _check_table(frame)
    keys, groups = _groups(frame)
    summary = _per_class(groups, frame)
    tweets = class_counts(groups[LABEL])
    short = [name for name in LABELS if tweets[name] < folds]
    if short:
        raise SplitError(f"too few distinct tweets of {_classes(short)} for {folds} folds; {summary}")
    from sklearn.model_selection import StratifiedKFold

    dealer = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    splits = []
    for fold, (rest_index, test_index) in enumerate(dealer.split(groups, groups[LABEL])):
        rest = groups.iloc[rest_index]
        train, validation = _stratified(rest, validation_size * folds / (folds - 1), seed, "validation", summary)
        parts = {"train": train, "validation": validation, "test": groups.iloc[test_index]}
        splits.append(_assign(frame, keys, parts, f"fold {fold}; {summary}"))
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
