"""The training-time mitigations of the dialect gap (hatespeech/data/fairness.py): reweighing makes dialect group
and gold label independent, upweighting touches only gold-neither AAE-aligned rows, counterfactuals are
profanity-free neither copies of AAE-aligned offensive tweets, and bad settings are clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hatespeech import LABEL, TEXT, WEIGHT, PipelineError
from hatespeech.data.fairness import FairnessConfig, counterfactuals, mitigate, remove_words, reweighing, upweighting

HATE, OFFENSIVE, NEITHER = range(3)


def _rows() -> tuple[np.ndarray, np.ndarray]:
    """AAE-aligned rows mostly offensive, white-aligned mostly neither, as in the data."""
    labels = np.array(
        [OFFENSIVE] * 60
        + [NEITHER] * 5
        + [HATE] * 5
        + [OFFENSIVE] * 10
        + [NEITHER] * 30
        + [HATE] * 2
        + [HATE, OFFENSIVE, NEITHER]
    )
    groups = np.array(["aae"] * 70 + ["white"] * 42 + [""] * 3, dtype=object)
    return labels, groups


def test_reweighing_makes_group_and_label_independent_at_full_strength():
    labels, groups = _rows()
    weights = reweighing(labels, groups, 1.0)
    assert weights.mean() == pytest.approx(1.0)
    total = weights.sum()
    for group in np.unique(groups):
        for label in np.unique(labels):
            joint = weights[(groups == group) & (labels == label)].sum() / total
            marginal = weights[groups == group].sum() / total * weights[labels == label].sum() / total
            if ((groups == group) & (labels == label)).any():
                assert joint == pytest.approx(marginal), (group, label)
    rare = weights[(groups == "aae") & (labels == NEITHER)][0]
    assert rare == weights.max() and rare > 3  # the rare cell weighs most
    assert np.allclose(reweighing(labels, groups, 0.0), 1.0)  # strength 0: no weighting
    half = reweighing(labels, groups, 0.5)
    assert 1 < half[(groups == "aae") & (labels == NEITHER)][0] < rare


def test_upweighting_touches_only_gold_neither_aae_rows():
    labels, groups = _rows()
    weights = upweighting(labels, groups, 4.0)
    target = (groups == "aae") & (labels == NEITHER)
    assert weights.mean() == pytest.approx(1.0)
    assert np.allclose(weights[target] / weights[~target][0], 5.0) and len(set(weights[~target])) == 1


def test_counterfactuals_are_profanity_free_neither_copies_of_aae_offensive_tweets():
    train = pd.DataFrame(
        {
            TEXT: [
                "yo that bitch trippin fr fr",  # AAE offensive: copied without "bitch"
                "bitch please",  # too short once the word is gone: skipped
                "he finna be late again",  # AAE offensive without a lexicon word: skipped
                "that hoe lyin on me smh",  # white-aligned: not eligible
                "the bitch ass neighbours again",  # AAE hate: not eligible
            ],
            LABEL: [OFFENSIVE, OFFENSIVE, OFFENSIVE, OFFENSIVE, HATE],
            "source": ["tweet"] * 5,
        }
    )
    groups = np.array(["aae", "aae", "aae", "white", "aae"], dtype=object)
    added = counterfactuals(train, groups, ["bitch", "hoe", "ass"], 1.0, seed=0)
    assert added[TEXT].tolist() == ["yo that trippin fr fr"]
    assert added[LABEL].tolist() == [NEITHER] and added["source"].tolist() == ["counterfactual"]
    assert remove_words("That B*TCH, bitch! ok", {"bitch"}) == "That B*TCH, ok"  # whole words, any case
    assert counterfactuals(train, groups, ["bitch"], 0.0, seed=0).empty


def test_mitigate_adds_a_weight_column_or_rows_and_says_what_it_did():
    labels, groups = _rows()
    train = pd.DataFrame({TEXT: [f"tweet number {i} bitch" for i in range(len(labels))], LABEL: labels})
    weighted, stats = mitigate(train, groups, ["bitch"], FairnessConfig(method="reweigh", strength=1.0), seed=0)
    assert weighted[WEIGHT].mean() == pytest.approx(1.0) and len(weighted) == len(train)
    assert stats["train_rows_by_group"] == {"aae": 70, "white": 42} and stats["weights"]["aae/2"] > 3
    grown, stats = mitigate(train, groups, ["bitch"], FairnessConfig(method="counterfactual", strength=1.0), seed=0)
    assert WEIGHT not in grown and stats["counterfactual_rows"] == 60 and len(grown) == len(train) + 60
    assert (grown[LABEL].to_numpy()[len(train) :] == NEITHER).all()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"method": "balance"}, "fairness.method must be one of none, reweigh, upweight, counterfactual"),
        ({"method": "reweigh", "strength": -1}, "fairness.strength must be >= 0"),
        ({"method": "counterfactual", "strength": 2}, "a share <= 1 for counterfactual"),
        ({"group_threshold": 0.3}, "fairness.group_threshold must be in [0.5, 1)"),
    ],
)
def test_bad_settings_are_clear_errors(params, message):
    with pytest.raises(PipelineError) as error:
        FairnessConfig.from_params(params)
    assert message in str(error.value)
    assert not FairnessConfig.from_params({"method": "none"}).active
    assert not FairnessConfig.from_params({"method": "reweigh", "strength": 0}).active
