"""The dialect bias audit's arithmetic on constructed predictions: groups from proportions, rates equal to their
definitions, intervals around them, ratios, too-small groups left out, and the mitigation's offset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hatespeech import LABELS, PipelineError
from hatespeech.data.dialect import GROUPS, dialect_groups
from hatespeech.evaluation.audit import (
    MEASURES,
    AuditConfig,
    dialect_audit,
    group_neither_offset,
    group_rates,
    offset_predictions,
    plot_records,
)
from hatespeech.evaluation.stats import Bootstrap, BootstrapConfig
from hatespeech.model.decision import DecisionRule, RuleConfig

HATE, OFFENSIVE, NEITHER = range(3)
BOOTSTRAP = Bootstrap(BootstrapConfig(resamples=500), seed=3)


def test_groups_follow_the_threshold_and_no_estimate_is_no_group():
    proportions = np.array(
        [[0.6, 0.1, 0.1, 0.2], [0.1, 0.1, 0.1, 0.7], [0.4, 0.1, 0.1, 0.4], [np.nan] * 4, [0.8, 0, 0, 0.2]]
    )
    assert dialect_groups(proportions, 0.5).tolist() == ["aae", "white", "", "", "aae"]
    assert dialect_groups(proportions, 0.65).tolist() == ["", "white", "", "", "aae"]
    assert dialect_groups(proportions, 0.8).tolist() == ["", "", "", "", "aae"]  # the papers' >= 0.8
    assert dialect_groups(np.array([[0.5, 0, 0, 0.5]]), 0.5).tolist() == [""]  # reaches both: in neither
    with pytest.raises(PipelineError, match="group_threshold"):
        AuditConfig.from_params({"group_threshold": 0.4})
    with pytest.raises(PipelineError, match="papers_threshold"):
        AuditConfig.from_params({"papers_threshold": 1.0})


def test_sap_et_al_rates_follow_their_definitions_on_a_hand_built_example():
    # 10 AAE-aligned tweets: gold hate, hate, offensive x4, neither x4
    labels = np.array([HATE, HATE, OFFENSIVE, OFFENSIVE, OFFENSIVE, OFFENSIVE, NEITHER, NEITHER, NEITHER, NEITHER])
    predicted = np.array([OFFENSIVE, HATE, OFFENSIVE, OFFENSIVE, HATE, NEITHER, OFFENSIVE, OFFENSIVE, HATE, NEITHER])
    groups = np.array(["aae"] * 10, dtype=object)
    aae = group_rates(labels, predicted, groups, AuditConfig(min_group_size=1), BOOTSTRAP)["aae"]
    # FPR(c) = P(predicted c | gold not c); FNR(c) = P(predicted not c | gold c)
    assert aae["fpr_offensive"] == pytest.approx(3 / 6)  # gold hate 1 + gold neither 2 called offensive, of 6
    assert aae["fpr_hate"] == pytest.approx(2 / 8)  # gold offensive 1 + gold neither 1 called hate, of 8
    assert aae["fnr_offensive"] == pytest.approx(2 / 4) and aae["fnr_hate"] == pytest.approx(1 / 2)
    assert aae["support"]["fpr_offensive"] == 6 and aae["support"]["fnr_hate"] == 2
    assert aae["false_flag_neither"] == pytest.approx(3 / 4)


def test_the_audit_is_repeated_at_the_papers_threshold():
    labels, predicted, groups = _constructed()
    proportions = np.where(groups[:, None] == "aae", [0.9, 0, 0, 0.1], [0.3, 0, 0, 0.7])
    proportions[:100] = [0.6, 0, 0, 0.4]  # the AAE gold-neither tweets: AAE-aligned at 0.5 only
    table = pd.DataFrame({"label": labels, "predicted_tuned": predicted})
    audit = dialect_audit({"m": table}, proportions, AuditConfig(min_group_size=1), BOOTSTRAP)
    assert audit["group_threshold"] == 0.5 and audit["tweets"]["aae"] == 200 and audit["tweets"]["white"] == 100
    papers = audit["at_papers_threshold"]
    assert papers["group_threshold"] == 0.8 and papers["tweets"]["aae"] == 100 and papers["tweets"]["white"] == 0
    assert papers["m"]["aae"]["false_flag_neither"] is None  # no gold-neither tweet left in the group
    assert papers["m"]["aae"]["fnr_offensive"] == pytest.approx(0.2)  # 20 of its 100 gold-offensive called hate
    assert audit["m"]["aae"]["fnr_offensive"] == pytest.approx(0.2) and audit["m"]["aae"]["fpr_offensive"] == 0.3


def _constructed() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """200 AAE-aligned and 100 white-aligned tweets; gold-neither false flags 30% vs 10%."""
    labels = np.array([NEITHER] * 100 + [OFFENSIVE] * 100 + [NEITHER] * 50 + [OFFENSIVE] * 50)
    predicted = labels.copy()
    predicted[:30] = OFFENSIVE  # 30 of the 100 AAE gold-neither flagged
    predicted[100:120] = HATE  # 20 of the 100 AAE gold-offensive called hate
    predicted[200:205] = HATE  # 5 of the 50 white gold-neither flagged
    predicted[250:255] = HATE  # 5 of the 50 white gold-offensive called hate
    groups = np.array(["aae"] * 200 + ["white"] * 100, dtype=object)
    return labels, predicted, groups


def test_rates_equal_their_definitions_with_intervals_around_them():
    labels, predicted, groups = _constructed()
    audit = group_rates(labels, predicted, groups, AuditConfig(), BOOTSTRAP)
    aae, white, ratio = audit["aae"], audit["white"], audit["aae_vs_white"]
    assert aae["tweets"] == 200 and white["tweets"] == 100
    assert aae["gold_share"] == {"hate_speech": 0.0, "offensive_language": 0.5, "neither": 0.5}
    assert aae["false_flag_neither"] == 0.3 and white["false_flag_neither"] == 0.1
    assert aae["hate_flag_offensive"] == 0.2 and white["hate_flag_offensive"] == 0.1
    assert aae["flag_hate"] == 0.1 and aae["flag_any"] == pytest.approx(0.65) and white["flag_offensive"] == 0.45
    assert aae["support"]["false_flag_neither"] == 100 and white["support"]["flag_any"] == 100
    assert ratio["false_flag_neither"] == pytest.approx(3.0) and ratio["hate_flag_offensive"] == pytest.approx(2.0)
    for block in (aae, white, ratio):
        for measure in MEASURES:
            if measure == "fnr_hate" or (block is ratio and measure == "fpr_offensive"):
                continue  # no gold hate tweet; no white tweet called offensive: no ratio
            interval = block["ci95"][measure]
            assert interval["low"] <= block[measure] <= interval["high"], (measure, block)
        assert block["fnr_hate"] is None
    assert ratio["ci95"]["false_flag_neither"]["low"] > 1  # 30/100 vs 5/50 is not luck


def test_a_rate_over_too_few_tweets_is_not_reported():
    labels, predicted, groups = _constructed()
    audit = group_rates(labels, predicted, groups, AuditConfig(min_group_size=60), BOOTSTRAP)
    assert audit["white"]["false_flag_neither"] is None and audit["white"]["ci95"]["false_flag_neither"] is None
    assert audit["aae_vs_white"]["false_flag_neither"] is None
    assert audit["white"]["flag_any"] == pytest.approx(0.55)  # 100 tweets: reported
    records = plot_records({"m": audit}, ["m"])
    # left out: fnr_hate (no gold hate tweet) in both groups; white rates over its 50 gold-neither or 50
    # gold-offensive tweets (< 60): false_flag_neither, hate_flag_offensive, fpr_offensive, fnr_offensive
    assert len(records) == len(MEASURES) * len(GROUPS) - 6 and all(0 <= r["rate"] <= 1 for r in records)


def test_a_white_rate_of_zero_gives_no_ratio_and_the_same_seed_the_same_intervals():
    labels, predicted, groups = _constructed()
    predicted[200:205] = NEITHER
    first = group_rates(labels, predicted, groups, AuditConfig(), BOOTSTRAP)
    assert first["white"]["false_flag_neither"] == 0.0 and first["aae_vs_white"]["false_flag_neither"] is None
    assert group_rates(labels, predicted, groups, AuditConfig(), BOOTSTRAP) == first


def test_the_audit_of_several_models_counts_the_groups_and_checks_the_rows():
    labels, predicted, groups = _constructed()
    proportions = np.zeros((len(labels), 4))
    proportions[groups == "aae", 0] = proportions[groups == "white", 3] = 1.0
    proportions[-1] = np.nan
    table = pd.DataFrame({"label": labels, "predicted_tuned": predicted})
    audit = dialect_audit({"a": table, "b": table}, proportions, AuditConfig(), BOOTSTRAP)
    assert audit["tweets"] == {"all": 300, "aae": 200, "white": 99, "no_estimate": 1}
    assert audit["a"] == audit["b"] and audit["a"]["aae"]["false_flag_neither"] == 0.3
    with pytest.raises(PipelineError, match="hold 299 tweets"):
        dialect_audit({"a": table.iloc[:-1]}, proportions, AuditConfig(), BOOTSTRAP)


def test_the_mitigation_offset_brings_the_groups_false_flag_rates_together():
    rng = np.random.default_rng(0)
    labels = np.array([NEITHER, OFFENSIVE] * 200)
    groups = np.array(["aae"] * 200 + ["white"] * 200, dtype=object)
    probabilities = np.full((400, 3), 0.05)
    neither_score = np.where(labels == NEITHER, 0.7, 0.2) + rng.normal(0, 0.05, 400)
    neither_score[:200] -= 0.25  # the model under-scores `neither` for AAE-aligned tweets
    probabilities[:, NEITHER] = neither_score.clip(0.01, 0.9)
    probabilities[:, OFFENSIVE] = 1 - probabilities[:, NEITHER] - 0.05
    rule = DecisionRule()
    offset, fit = group_neither_offset(probabilities, labels, groups, rule, RuleConfig(max_offset=2.0, step=0.1))
    before, after = fit["false_flag_neither_before"], fit["false_flag_neither_after"]
    assert offset > 0 and before["aae"] > before["white"] + 0.3
    assert abs(after["aae"] - after["white"]) < abs(before["aae"] - before["white"]) / 3
    unchanged = offset_predictions(probabilities, rule, groups, offset)[200:]
    assert np.array_equal(unchanged, rule.predict(probabilities)[200:])  # white-aligned tweets untouched
    assert LABELS[NEITHER] == "neither"
