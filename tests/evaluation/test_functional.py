"""The functional stage's measures: accuracies with intervals by functionality and group, the weakest ones, and the
disguised real tweets' flag rates, on a scorer with a known behaviour."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import ROOT

from hatespeech.evaluation.functional import (
    FunctionalConfig,
    disguise_report,
    scored_once,
    suite_report,
    weakest,
    wilson,
)
from hatespeech.evaluation.stats import Bootstrap, BootstrapConfig

BOOTSTRAP = Bootstrap(BootstrapConfig(resamples=200), seed=0)


def test_wilson_interval_matches_known_values_and_handles_edges():
    assert wilson(8, 10) == pytest.approx({"low": 0.490162, "high": 0.943318}, abs=1e-5)
    assert wilson(0, 5)["low"] == 0.0 and wilson(5, 5)["high"] == 1.0
    assert wilson(0, 0) == {"low": None, "high": None}


def test_suite_report_scores_each_functionality_group_and_the_hateful_split():
    cases = pd.DataFrame(
        {
            "functionality": ["derog"] * 4 + ["neutral"] * 4,
            "expected": ["hate"] * 4 + ["not_hate"] * 4,
            "target_group": ["women", "women", "jews", "jews", None, "jews", "women", None],
        }
    )
    predicted = ["hate_speech", "neither", "hate_speech", "hate_speech"] + ["neither", "hate_speech", "neither", "x"]
    report = suite_report(cases, predicted, BOOTSTRAP, {"derog": "Derogation"})
    assert report["overall"]["accuracy"] == 0.625 and report["overall"]["cases"] == 8
    assert report["hateful"]["accuracy"] == 0.75 and report["non_hateful"]["accuracy"] == 0.5
    assert report["macro"]["accuracy"] == 0.625 and report["macro"]["ci95"]["low"] <= 0.625
    assert report["functionalities"]["derog"]["description"] == "Derogation"
    assert report["groups"]["jews"] == {**report["groups"]["jews"], "accuracy": 0.666667, "hateful": 1.0}
    assert weakest(report, 1) == [("neutral", 0.5)]


def test_disguise_report_measures_flags_kept_and_false_flags_caused():
    """A scorer that flags a tweet when it holds an exact lexicon word: every disguise that changes the word
    defeats it, and disguising an ordinary word never makes it flag a neither tweet."""
    lexicon = ["zorgon", "blapper"]
    tweets = ["you zorgon lol", "what a blapper today", "total zorgon blapper", "sunny garden day", "coffee time yo"]
    test = pd.DataFrame({"text": tweets, "label": [0, 1, 1, 2, 2]})

    def score(texts):
        return ["offensive_language" if set(t.split()) & set(lexicon) else "neither" for t in texts]

    report = disguise_report(test, lexicon, score, FunctionalConfig(real_tweets=10), seed=0)
    assert report["toxic_tweets"] == 3 and report["flagged_plain"] == 1.0
    for kind, entry in report["kinds"].items():
        assert entry["tweets"] == 3 and entry["neither_false_flag_rate"] == 0.0, kind
        assert entry["flag_rate"] == 0.0, kind
    assert report["lowest_flag_rate"] == 0.0
    assert disguise_report(test, lexicon, score, FunctionalConfig(real_tweets=0), seed=0) == {}


def test_a_sample_keeps_every_functionality_at_most_n_cases_each_in_suite_order():
    from hatespeech.data.functional import generate_cases, load_templates
    from hatespeech.evaluation.functional import sample_cases

    cases = generate_cases(
        load_templates(str(ROOT / "data/functional/suite.yaml"), str(ROOT / "data/functional/groups.yaml"))
    )
    sample = sample_cases(cases, 20, seed=0)
    counts = sample["functionality"].value_counts()
    assert set(counts.index) == set(cases["functionality"]) and counts.max() == 20
    assert counts.min() == min(20, cases["functionality"].value_counts().min())
    assert sample.equals(sample_cases(cases, 20, seed=0))  # seeded
    numbered = sample_cases(cases.assign(position=range(len(cases))), 20, seed=0)
    assert numbered["position"].is_monotonic_increasing  # the suite's order is kept
    assert sample_cases(cases, None, seed=0) is cases


def test_scored_once_scores_each_key_once_over_all_calls_and_keeps_the_order():
    seen: list[list[str]] = []

    def score(texts):
        seen.append(list(texts))
        return [f"label of {text.lower()}" for text in texts]

    scorer = scored_once(score, lambda texts: [text.lower() for text in texts])
    assert scorer(["B", "a", "b", "A"]) == ["label of b", "label of a", "label of b", "label of a"]
    assert scorer(["A", "c"]) == ["label of a", "label of c"]
    assert scorer(["C"]) == ["label of c"]
    assert seen == [["b", "A"], ["c"]]  # a key's last text in the first call that has it; no key twice, no empty call
