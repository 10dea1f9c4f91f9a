"""The TwitterAAE dialect model: the authors' own examples reproduce, tweets are tokenized for it, texts without
enough known words get no estimate, and the whole shipped data set takes seconds."""

from __future__ import annotations

import gzip
import time

import numpy as np
import pytest

from hatespeech import PipelineError
from hatespeech.data.dialect import DIALECTS, DialectModel, tweet_tokens
from hatespeech.testing import ROOT

MODEL_DIR = ROOT / "data" / "twitteraae"


@pytest.fixture(scope="module")
def dialects() -> DialectModel:
    return DialectModel.load(MODEL_DIR)


def test_the_authors_readme_examples_reproduce_to_two_decimals(dialects):
    # slanglab/twitteraae's README: predict("hello there".split()) and predict("af af af".split())
    hello, af = dialects.token_proportions([["hello", "there"], ["af", "af", "af"]])
    assert np.round(hello, 2).tolist() == [0.17, 0.27, 0.23, 0.33]  # [0.166, 0.275, 0.229, 0.331]
    assert np.allclose(hello, [0.166, 0.275, 0.229, 0.331], atol=0.005)
    assert np.allclose(af, [0.843, 0.132, 0.0001, 0.025], atol=0.005)
    assert DIALECTS[0] == "african_american" and DIALECTS[3] == "white"


def test_no_estimate_without_enough_words_in_the_vocabulary(dialects):
    # out of vocabulary; nothing at all; 1 known word of 6 (under 20%); 1 known of 5 (exactly 20%: estimated)
    rows = dialects.token_proportions([["zorgonblap"], [], ["the", *["qqzx"] * 5], ["the", *["qqzx"] * 4]])
    assert np.isnan(rows[:3]).all()
    assert np.isfinite(rows[3]).all() and rows[3].sum() == pytest.approx(1.0)


def test_tweets_lose_their_markup_before_the_model_reads_them():
    tokens = tweet_tokens("RT @someone: don\u2019t &amp; dont stop http://t.co/abc 😂😂 #blessed :)")
    assert tokens == ["don't", "&", "dont", "stop", "😂", "😂", "#blessed", ":)"]
    assert tweet_tokens("@only http://t.co/x RT") == []


def test_one_tweet_alone_or_among_many_gets_the_same_proportions(dialects):
    texts = ["hello there", "af af af", "@x bruh this nigga trippin lol", "what a lovely day in the garden"] * 3
    together = dialects.proportions(texts)
    alone = np.vstack([dialects.proportions([text]) for text in texts])
    assert np.allclose(together, alone, atol=1e-12)
    assert together[2, 0] > 0.5 and together[3, 3] > 0.5  # an AAE-aligned and a white-aligned tweet


def test_the_shipped_data_set_takes_seconds(dialects):
    import pandas as pd

    texts = pd.read_csv(ROOT / "data" / "hate_speech_offensive" / "labeled_data.csv.gz")["tweet"].tolist()
    started = time.perf_counter()
    proportions = dialects.proportions(texts)
    assert time.perf_counter() - started < 30  # about 2 s on 2 cores (docs/bias-audit.md): vectorized
    estimated = ~np.isnan(proportions[:, 0])
    assert estimated.mean() > 0.99 and np.allclose(proportions[estimated].sum(axis=1), 1.0)


def test_a_broken_model_directory_is_one_clear_error(tmp_path):
    with pytest.raises(PipelineError, match="cannot read the TwitterAAE dialect model"):
        DialectModel.load(tmp_path)
    (tmp_path / "model_vocab.txt.gz").write_bytes(gzip.compress(b"5\tthe\n3\ta\n"))
    (tmp_path / "model_count_table.txt.gz").write_bytes(gzip.compress(b"1 2 3 4\n"))
    with pytest.raises(PipelineError, match="2 words but a 1 x 4 count table"):
        DialectModel.load(tmp_path)


def test_the_shipped_copy_is_the_one_its_readme_describes():
    import hashlib

    readme = (MODEL_DIR / "README.md").read_text()
    for name in ("model_vocab.txt", "model_count_table.txt"):
        content = gzip.decompress((MODEL_DIR / f"{name}.gz").read_bytes())
        assert f"`{name}`: `{hashlib.sha256(content).hexdigest()}`" in readme
    assert "MIT License" in (MODEL_DIR / "LICENSE").read_text()
