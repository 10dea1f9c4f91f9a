"""The one text normalization: what it changes, that it is idempotent, and that a model directory carries it."""

from __future__ import annotations

import json

import pytest

from hatespeech import PipelineError
from hatespeech.data.text import Normalizer, deobfuscate, mask_tweet, unescape
from hatespeech.paths import NORMALIZER_FILE


def test_the_default_cleans_what_users_and_the_data_send_differently():
    clean = Normalizer()
    raw = "RT @some_one: lol &amp;#128514; so true   http://t.co/abc &lt;3"
    assert clean(raw) == "RT @user : lol face with tears of joy so true http <3"
    # What the service receives for the same tweet: real characters and an emoji.
    assert clean("RT @other: lol 😂 so true http://x.co/y <3") == clean(raw)
    assert clean(clean(raw)) == clean(raw)  # idempotent: the augment stage's rows are normalized again by tokenize


def test_entities_escaped_twice_are_unescaped_and_plain_text_is_left_alone():
    assert unescape("&amp;amp;") == "&" and unescape("Tom &amp; Jerry") == "Tom & Jerry"
    assert unescape("R&D and AT&T; 5 > 3") == "R&D and AT&T; 5 > 3"


def test_emoji_kept_or_named_by_the_setting():
    assert Normalizer(emoji="keep")("nice 👍🏿") == "nice 👍🏿"
    assert Normalizer(emoji="names")("nice 👍🏿") == "nice thumbs up dark skin tone"
    assert Normalizer(emoji="names")("keycap 1\ufe0f\u20e3 and (c) ©") == "keycap keycap 1 and (c) copyright"
    assert Normalizer(emoji="names")("plain ascii :) <3 #1") == "plain ascii :) <3 #1"  # no emoji is ASCII only


def test_deobfuscation_undoes_disguises_that_keep_the_letters_and_spares_ordinary_text():
    assert deobfuscate("you b i t c h, b.i.t.c.h or b-i-t-c-h") == "you bitch, bitch or bitch"
    assert deobfuscate("b1tch h0e a$$ biiiitch sh!t") == "bitch hoe ass biitch shit"
    for ordinary in ("meet at 4pm on the 2nd", "the U.S.A. and e.g. a b c", "@user hi", "coooool"):
        assert deobfuscate(ordinary) == ordinary.replace("coooool", "cool")


def test_legacy_changes_nothing_and_a_directory_without_settings_loads_it(tmp_path):
    text = "RT @a: x &amp; y 😂  http://t.co/z"
    assert Normalizer.legacy()(text) == text
    assert Normalizer.load(tmp_path) == Normalizer.legacy()
    settings = Normalizer(emoji="keep", mention=None)
    settings.save(tmp_path)
    assert json.loads((tmp_path / NORMALIZER_FILE).read_text())["emoji"] == "keep"
    assert Normalizer.load(tmp_path) == settings


def test_bad_settings_are_clear_errors(tmp_path):
    with pytest.raises(PipelineError, match="normalize.emoji must be one of keep, names"):
        Normalizer.from_params({"emoji": "drop"})
    with pytest.raises(PipelineError, match="unknown normalize parameter"):
        Normalizer.from_params({"lowercase": True})
    (tmp_path / NORMALIZER_FILE).write_text("{not json")
    with pytest.raises(PipelineError, match="not a readable JSON file"):
        Normalizer.load(tmp_path)


def test_the_split_keys_keep_reading_any_at_as_a_mention():
    """mask_tweet keys the split's near-duplicate groups: a change to it would move tweets between train and test.
    The normalizer reads an @ inside a word as leetspeak; mask_tweet still masks every @ as it always did."""
    assert mask_tweet("RT@bob tr@nny") == "rt  tr "
    assert Normalizer()("tr@nny @bob") == "tranny @user"
