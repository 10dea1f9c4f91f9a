"""The normalizer's spelling step (:mod:`hatespeech.data.spelling`): disguised spellings of target words put back,
real words never rewritten, the lists saved with the normalizer and loaded with it."""

import json

import pytest

from hatespeech import PipelineError
from hatespeech.data.spelling import Spelling, build_spelling, profanity_list
from hatespeech.data.text import Normalizer
from hatespeech.paths import NORMALIZER_FILE, SPELLING_FILE

OFFENSIVE = ["faggot", "faggots", "tranny", "heebs", "bitch", "dick"]
KNOWN = ["niger", "the", "that", "came", "of", "now", "dye", "con", "money", "mooks", "ing", "ed", "cont", "all"]
SPELLING = Spelling.build([*OFFENSIVE, "muslims", "gooks", "cunt"], OFFENSIVE, KNOWN)
CLEAN = Normalizer().with_spelling(SPELLING)


@pytest.mark.parametrize(
    ("disguised", "meant"),
    [
        ("f*ggot", "faggot"),  # an asterisk for a letter
        ("f**got", "faggot"),
        ("f4ggo7", "faggot"),  # leetspeak, also at the end of a word
        ("faaaggot", "faggot"),  # stretched
        ("fagot", "faggot"),  # a letter left out
        ("fgagot", "faggot"),  # two letters swapped
        ("mslims", "muslims"),  # a group's name
        ("a t r a n n y", "a tranny"),  # spaced letters after an article: the article stays a word
        ("tr@nny", "tranny"),  # an @ inside a word is leetspeak, not a mention
        ("theheebscame", "the heebs came"),  # run into its neighbours
        ("allfaggotsnow", "all faggots now"),
    ],
)
def test_a_disguised_target_word_is_put_back(disguised, meant):
    assert CLEAN(f"you {disguised} lol") == f"you {meant} lol"


@pytest.mark.parametrize(
    "text",
    [
        "niger",  # a real word one letter from a slur stays
        "dye",
        "mooks",  # the first letter is never changed (gooks)
        "cont",  # nor is any letter replaced (cunt)
        "dicked",  # an ending is not split off an offensive word
        "bitch*",  # an asterisk at a word's edge is punctuation
        "*****",  # a word of asterisks names nothing
        "money",
    ],
)
def test_real_words_and_unclear_disguises_stay(text):
    assert CLEAN(text) == text


def test_without_lists_nothing_is_corrected_and_the_lists_travel_with_the_settings(tmp_path):
    assert Normalizer()("fagot") == "fagot" and Normalizer().words is None
    CLEAN.save(tmp_path)
    assert (tmp_path / SPELLING_FILE).is_file()
    loaded = Normalizer.load(tmp_path)
    assert loaded == CLEAN and loaded.words == SPELLING and loaded("fagot") == "faggot"
    assert (
        Normalizer(spelling=False).with_words(tmp_path / SPELLING_FILE).words is None
    )  # spelling off: lists not attached


def test_a_model_saved_before_spelling_existed_loads_without_it(tmp_path):
    settings = {k: v for k, v in json.loads(json.dumps(Normalizer.legacy().__dict__)).items() if k != "spelling"}
    (tmp_path / NORMALIZER_FILE).write_text(json.dumps(settings))
    assert Normalizer.load(tmp_path) == Normalizer.legacy()


def test_a_broken_list_file_is_named(tmp_path):
    (tmp_path / SPELLING_FILE).write_text('{"targets": []}')
    with pytest.raises(PipelineError, match="spelling word list"):
        Spelling.load(tmp_path / SPELLING_FILE)


def test_lists_built_from_lexicon_templates_groups_tweets_and_vocabulary():
    groups = {"muslims": {"plural": ["muslims", "muslim people"], "member": ["a muslim"], "slurs": ["raghead"]}}
    spelling = build_spelling(
        ["bitch", "raghead"],
        {"insult_word": ["jerk"], "profanity": ["damn"], "object": ["the toaster"]},
        groups,
        ["niger niger hello", "once"],
        ["niger", "##ing", "[UNK]", "Hello"],
    )
    assert spelling.targets[:4] == ("bitch", "raghead", "jerk", "damn")
    assert {"muslims", "muslim", "people"} <= set(spelling.targets) and "toaster" not in spelling.targets
    assert spelling.offensive == {"bitch", "raghead", "jerk", "damn"}
    assert {"niger", "hello"} <= spelling.known and "once" not in spelling.known and "##ing" not in spelling.known


def test_a_profanity_list_adds_targets_after_the_learnt_words_but_no_run_together_splits():
    words = profanity_list()
    assert len(words) > 500 and {"twat", "wanker", "prick"} <= set(words) and all(w.isalpha() for w in words)
    spelling = build_spelling(["bitch"], {}, {}, ["you are a"], ["you", "are", "a", "twit"], ["twat", "bitch"])
    assert spelling.targets == ("bitch", "twat") and spelling.offensive == {"bitch"}
    assert spelling("you are a tw*t") == "you are a twat" and spelling("you are a twit") == "you are a twit"
    assert spelling("atwat") == "atwat"  # only the learnt offensive words are split off their neighbours


def test_masked_targets_are_read_from_asterisks_only_and_survive_a_save(tmp_path):
    spelling = build_spelling(["bitch"], {}, {}, ["you are a"], ["you", "are", "a"], (), ["twat", "bitch", "wanker"])
    assert spelling.targets == ("bitch",) and spelling.masked == ("twat", "wanker")
    assert spelling("you are a tw*t, a w**ker") == "you are a twat, a wanker"
    assert spelling("you are a twta, a wankr") == "you are a twta, a wankr"  # no swaps or deletions for them
    spelling.save(tmp_path / "spelling.json")
    assert Spelling.load(tmp_path / "spelling.json") == spelling
    older = json.loads((tmp_path / "spelling.json").read_text())
    del older["masked"]  # lists saved before masked targets existed still load, without them
    (tmp_path / "old.json").write_text(json.dumps(older))
    assert Spelling.load(tmp_path / "old.json")("a tw*t") == "a tw*t"


def test_several_offensive_words_run_together_are_all_split_off():
    assert CLEAN("thatfaggotbitchnow") == "that faggot bitch now"
    assert CLEAN("scunthorpe") == "scunthorpe"  # not all of it cuts into words
