"""split: stratified 80/10/10, near-duplicates together, clear errors when a class cannot be split."""

from __future__ import annotations

import pandas as pd
import pytest

from hatespeech.data.sources import load_source
from hatespeech.data.splitting import SPLITS, SplitError, near_duplicate_key, split_dataset, split_stats
from hatespeech.testing import make_rows, write_csv


@pytest.fixture
def frame(csv_file) -> pd.DataFrame:
    return load_source(str(csv_file)).frame


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("RT @someone: Hello, World!!", "hello world"),
        ("hello   world http://t.co/abc123", "Hello World"),
        ("&amp; so it goes @x", "so it goes"),
        ("RT @a RT @b: nice_one", "nice one"),
    ],
)
def test_near_duplicate_key_ignores_noise(a, b):
    assert near_duplicate_key(a) == near_duplicate_key(b)


def test_near_duplicate_key_keeps_words():
    assert near_duplicate_key("start the party") == "start the party"  # "rt" inside a word stays
    assert near_duplicate_key("I hate you") != near_duplicate_key("I love you")


def test_split_sizes_and_stratification(frame):
    splits = split_dataset(frame, 0.1, 0.1, seed=1)
    assert set(splits) == set(SPLITS)
    assert sum(len(part) for part in splits.values()) == len(frame)
    assert len(splits["train"]) == pytest.approx(0.8 * len(frame), abs=6)
    assert len(splits["test"]) == pytest.approx(0.1 * len(frame), abs=6)
    overall = frame["label"].value_counts(normalize=True)
    for part in splits.values():
        shares = part["label"].value_counts(normalize=True)
        for label, share in overall.items():
            assert shares.get(label, 0) == pytest.approx(share, abs=0.08)


def test_near_duplicates_land_in_one_split(frame):
    splits = split_dataset(frame, 0.1, 0.1, seed=3)
    where = {}
    for name, part in splits.items():
        for text in part["text"]:
            where.setdefault(near_duplicate_key(text), set()).add(name)
    groups = frame["text"].map(near_duplicate_key).value_counts()
    assert (groups > 1).sum() >= 20  # the synthetic data really has retweet twins
    assert all(len(names) == 1 for names in where.values())


def test_split_is_seeded(frame):
    first = split_dataset(frame, 0.1, 0.1, seed=7)
    again = split_dataset(frame, 0.1, 0.1, seed=7)
    other = split_dataset(frame, 0.1, 0.1, seed=8)
    for name in SPLITS:
        pd.testing.assert_frame_equal(first[name], again[name])
    assert not first["test"]["text"].equals(other["test"]["text"])


def test_stats_count_every_split(frame):
    splits = split_dataset(frame, 0.1, 0.1, seed=1)
    stats = split_stats(frame, splits)
    assert stats["rows"] == len(frame)
    for name in SPLITS:
        assert stats["splits"][name]["rows"] == len(splits[name])
        assert sum(stats["splits"][name]["class_counts"].values()) == len(splits[name])


def test_a_class_too_small_to_reach_every_split_is_named(tmp_path):
    rows = [r for r in make_rows(200) if r[5] != 0] + [[900, 3, 3, 0, 0, 0, "zorgon only once"]]
    frame = load_source(str(write_csv(tmp_path / "d.csv", rows))).frame
    with pytest.raises(SplitError) as error:
        split_dataset(frame, 0.1, 0.1)
    assert "'hate_speech': 1" in str(error.value)


@pytest.mark.parametrize(("validation", "test"), [(0, 0.1), (0.1, 1.0), (0.5, 0.5)])
def test_bad_split_sizes(frame, validation, test):
    with pytest.raises(SplitError, match="split\\."):
        split_dataset(frame, validation, test)
