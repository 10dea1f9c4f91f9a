"""The functional suite and the training templates: generated deterministically, big and broad enough, disjoint;
the disguises change words the way users do."""

from __future__ import annotations

import random

import pytest
from helpers import ROOT

from hatespeech import PipelineError
from hatespeech.data.disguise import DISGUISES, disguise_text, disguise_word
from hatespeech.data.functional import (
    EXPECTED,
    check_disjoint,
    generate_cases,
    is_correct,
    load_templates,
    makes_common_word,
    training_examples,
)
from hatespeech.data.text import Normalizer

FUNCTIONAL = ROOT / "data" / "functional"
GROUPS = FUNCTIONAL / "groups.yaml"


@pytest.fixture(scope="module")
def suite():
    return load_templates(FUNCTIONAL / "suite.yaml", GROUPS)


@pytest.fixture(scope="module")
def training():
    return load_templates(FUNCTIONAL / "training.yaml", GROUPS, labels=("hate", "offensive", "neither"))


def test_the_shipped_suite_is_large_broad_and_generated_the_same_every_time(suite):
    cases = generate_cases(suite)
    assert len(cases) >= 2000 and cases["functionality"].nunique() >= 25
    assert cases["case_id"].is_unique and cases["text"].is_unique
    assert set(cases["expected"]) <= set(EXPECTED) and {"hate", "neither", "not_hate"} <= set(cases["expected"])
    assert cases.equals(generate_cases(load_templates(FUNCTIONAL / "suite.yaml", GROUPS)))
    required = ("slurs_homonym", "slurs_reclaimed", "negated_hate", "identity_neutral", "counter_speech_quote")
    assert set(required) <= set(cases["functionality"])
    # Every spelling variation the issue names, each on slurs.
    assert set(cases["disguise"].dropna()) == set(DISGUISES)
    hateful = cases[cases["expected"] == "hate"]
    assert hateful["target_group"].nunique() >= 8 and (cases["expected"] != "hate").sum() >= 1000


def test_disguised_cases_are_their_source_with_one_word_changed(suite):
    cases = generate_cases(suite)
    swapped = cases[cases["functionality"] == "spelling_space_slur"]
    assert len(swapped) > 50
    source = cases[cases["functionality"] == "slur_attack_person"].set_index("template")
    for _, case in swapped.head(20).iterrows():
        plain = set(source.loc[[case["template"]], "text"])
        assert case["text"] not in plain and case["text"].replace(" ", "") in {p.replace(" ", "") for p in plain}


def test_a_disguise_never_leaves_an_ordinary_word_in_place_of_the_slur(suite):
    # Leaving a letter out of "coon", "dyke", "spic" or "nigger" can give "con", "dye", "sic", "Niger": words a
    # reader takes at face value, so the suite leaves those cases out (and the spelling step never rewrites them).
    assert makes_common_word("shut up you coon", "shut up you con")
    assert makes_common_word("what a dyke.", "what a dye.")
    assert not makes_common_word("shut up you faggot", "shut up you fagot")  # rare: still read as the slur
    assert not makes_common_word("you retard", "you ret4rd") and not makes_common_word("a coon", "a c o o n")
    deleted = generate_cases(suite).query("disguise == 'delete'")
    words = {w.strip(".,!?") for text in deleted["text"] for w in text.lower().split()}
    assert len(deleted) >= 200 and not words & {"con", "cons", "dye", "dyes", "sic", "niger", "nigers"}


def test_training_templates_are_disjoint_from_the_suite(suite, training):
    assert check_disjoint(training, suite, Normalizer()) == len(generate_cases(suite))
    examples = training_examples(training)
    assert len(examples) >= 1000 and set(examples["label"]) == {0, 1, 2}
    # A training file that repeats one suite template is refused.
    leaked = load_templates(FUNCTIONAL / "training.yaml", GROUPS, labels=("hate", "offensive", "neither"))
    first = suite.functionalities[0]
    bad = type(leaked.functionalities[0])(name="leak", description="", expected="hate", templates=first.templates[:1])
    leaked = type(leaked)(leaked.path, leaked.seed, leaked.fillers, leaked.groups, (*leaked.functionalities, bad))
    with pytest.raises(PipelineError, match="also in the functional suite"):
        check_disjoint(leaked, suite, Normalizer())


def test_a_case_is_right_when_its_expected_label_accepts_the_prediction():
    expected = ["hate", "not_hate", "not_hate", "neither", "offensive"]
    predicted = ["hate_speech", "offensive_language", "hate_speech", "offensive_language", "offensive_language"]
    assert is_correct(expected, predicted) == [True, True, False, False, True]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("functionalities: [{name: a, expected: maybe, templates: [x]}]", "expected label 'maybe'"),
        ("functionalities: [{name: a, expected: hate, templates: ['{nope} x']}]", "unknown placeholder"),
        ("functionalities: [{name: a, expected: hate}]", "needs either templates or a source"),
        ("functionalities: [{name: a, source: b, disguise: leet}]", "source 'b' is not a template functionality"),
        ("functionalities: [{name: a, source: a, disguise: morse}]", "disguise 'morse'"),
        ("- just a list", "must be a YAML mapping"),
    ],
)
def test_bad_template_files_are_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(PipelineError, match=message):
        load_templates(path, GROUPS)


@pytest.mark.parametrize("kind", sorted(DISGUISES))
def test_each_disguise_changes_a_word_the_way_its_name_says(kind):
    rng = random.Random(0)
    word = disguise_word("bitches", kind, rng)
    checks = {
        "swap": lambda w: sorted(w) == sorted("bitches") and w != "bitches",
        "delete": lambda w: len(w) == 6,
        "space": lambda w: w == "b i t c h e s",
        "dots": lambda w: w.replace(".", "").replace("-", "") == "bitches" and w != "bitches",
        "join": lambda w: w == "bitches",
        "leet": lambda w: w != "bitches" and len(w) == 7,
        "asterisk": lambda w: "*" in w and w[0] == "b",
        "stretch": lambda w: len(w) >= 9,
    }
    assert checks[kind](word), word
    text, changed = disguise_text("you stupid bitches lol", ["bitches"], kind, random.Random(1))
    assert changed == 1 and text != "you stupid bitches lol"
    if kind == "join":
        assert text == "you stupidbitcheslol"
        # never run into an @mention or a link: the word would become part of the handle or the address
        assert disguise_text("@bob bitches lol", ["bitches"], kind, random.Random(1))[0] == "@bob bitcheslol"
        assert disguise_text("ok bitches http://t.co/x", ["bitches"], kind, random.Random(1))[0] == (
            "okbitches http://t.co/x"
        )
    with pytest.raises(ValueError, match="unknown disguise"):
        disguise_word("x", "morse", rng)
