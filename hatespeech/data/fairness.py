"""Training-time mitigations of the dialect gap (docs/bias-audit.md): sample weights and counterfactual rows for
the train split, from the TwitterAAE dialect groups of its rows. Only the augment stage calls this: the dialect
model is read at training time, and the trained model, the service and every other entry point stay dialect-blind.

- ``reweigh``: Kamiran & Calders' (2012) reweighing. A row of dialect group g (``aae``, ``white``, or neither) and
  gold label y weighs (P(g) P(y) / P(g, y)) ** strength: at strength 1 the group tells nothing about the label in
  the weighted data (gold-``neither`` AAE-aligned tweets, rare, weigh most).
- ``upweight``: gold-``neither`` AAE-aligned rows weigh 1 + strength, every other row 1.
- ``counterfactual``: dialect-preserving counterfactuals. A copy of each AAE-aligned gold-``offensive`` tweet with
  its offensive words (augment's lexicon) removed, labelled ``neither``, added to the train split: the same
  dialect without the profanity is not offensive. ``strength`` is the share of those tweets copied (at most 1).

Weights are scaled to a mean of 1, so the loss keeps its size; they ride to the trainer in the :data:`WEIGHT`
column (:func:`hatespeech.model.losses.with_sample_weights`).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from hatespeech import LABEL, LABEL2ID, TEXT, WEIGHT, PipelineError
from hatespeech.config import PARAMS_YAML, Section
from hatespeech.data.augment import SOURCE, without_votes
from hatespeech.data.dialect import GROUPS

Method = Literal["none", "reweigh", "upweight", "counterfactual"]  # Section checks a value is one of them
COUNTERFACTUAL = "counterfactual"
MIN_WORDS_LEFT = 3  # a counterfactual keeps at least this many words, or is not made
OFFENSIVE, NEITHER = LABEL2ID["offensive_language"], LABEL2ID["neither"]


@dataclass(frozen=True)
class FairnessConfig(Section):
    """params.yaml's ``fairness`` section."""

    SECTION = "fairness"
    method: Method = PARAMS_YAML
    strength: float = PARAMS_YAML
    group_threshold: float = PARAMS_YAML

    def validate(self) -> None:
        if self.strength < 0 or (self.method == COUNTERFACTUAL and self.strength > 1):
            raise PipelineError(
                f"fairness.strength must be >= 0 (a share <= 1 for counterfactual), got {self.strength}"
            )
        if not 0.5 <= self.group_threshold < 1:
            raise PipelineError(f"fairness.group_threshold must be in [0.5, 1), got {self.group_threshold}")

    @property
    def active(self) -> bool:
        return self.method != "none" and self.strength > 0


def reweighing(labels: np.ndarray, groups: np.ndarray, strength: float) -> np.ndarray:
    """Kamiran & Calders' weights (P(g) P(y) / P(g, y)) ** strength for each row, scaled to a mean of 1."""
    weights = np.ones(len(labels))
    for group in np.unique(groups):
        in_group = groups == group
        for label in np.unique(labels):
            cell = in_group & (labels == label)
            weights[cell] = (in_group.mean() * (labels == label).mean() / cell.mean()) ** strength
    return weights / weights.mean()


def upweighting(labels: np.ndarray, groups: np.ndarray, strength: float) -> np.ndarray:
    """Weight 1 + ``strength`` on gold-``neither`` AAE-aligned rows, 1 elsewhere, scaled to a mean of 1."""
    weights = np.where((groups == "aae") & (labels == NEITHER), 1.0 + strength, 1.0)
    return weights / weights.mean()


def remove_words(text: str, words: set[str]) -> str:
    """``text`` without the words in ``words`` (whole words, any case), its spacing squeezed."""
    kept = [token for token in text.split() if re.sub(r"[^a-z]", "", token.lower()) not in words]
    return " ".join(kept)


def counterfactuals(
    train: pd.DataFrame, groups: np.ndarray, lexicon: list[str], share: float, seed: int
) -> pd.DataFrame:
    """Profanity-free ``neither`` copies of a seeded ``share`` of the AAE-aligned gold-``offensive`` tweets: each
    with every lexicon word removed, kept where it lost one and has :data:`MIN_WORDS_LEFT` words left."""
    words = set(lexicon)
    eligible = np.flatnonzero((groups == "aae") & (train[LABEL].to_numpy() == OFFENSIVE))
    if SOURCE in train.columns:  # tweets only, not augment's generated rows
        eligible = eligible[train[SOURCE].to_numpy()[eligible] == "tweet"]
    picked = sorted(random.Random(f"counterfactual|{seed}").sample(list(eligible), round(share * len(eligible))))
    rows = []
    for i in picked:
        original = train[TEXT].iloc[i]
        text = remove_words(original, words)
        if text != original and len(text.split()) >= MIN_WORDS_LEFT:
            rows.append({TEXT: text, LABEL: NEITHER, SOURCE: COUNTERFACTUAL})
    return pd.DataFrame(rows, columns=[TEXT, LABEL, SOURCE])


def mitigate(
    train: pd.DataFrame, groups: np.ndarray, lexicon: list[str], config: FairnessConfig, seed: int
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The train split as ``config`` mitigates it (``groups``: its rows' dialect groups, from the same
    threshold): counterfactual rows added, or a :data:`WEIGHT` column; and what was done (for augment's stats)."""
    labels = train[LABEL].to_numpy()
    stats: dict[str, Any] = {
        "method": config.method,
        "strength": config.strength,
        "train_rows_by_group": {name: int((groups == name).sum()) for name in GROUPS},
    }
    if config.method == COUNTERFACTUAL:
        added = counterfactuals(train, groups, lexicon, config.strength, seed)
        stats["counterfactual_rows"] = len(added)
        return without_votes(pd.concat([train, added], ignore_index=True)), stats
    weigh = reweighing if config.method == "reweigh" else upweighting
    weights = weigh(labels, groups, config.strength)
    stats["weights"] = {
        f"{group or 'other'}/{label}": round(float(weights[(groups == group) & (labels == label)][0]), 4)
        for group in ("aae", "white", "")
        for label in range(len(LABEL2ID))
        if ((groups == group) & (labels == label)).any()
    }
    return train.assign(**{WEIGHT: weights.astype(np.float32)}), stats
