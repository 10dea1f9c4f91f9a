"""Dialect proportions of tweets: the TwitterAAE demographic dialect model of Blodgett, Green & O'Connor (EMNLP
2016), the instrument Davidson et al. (2019) and Sap et al. (2019) measured this data's racial bias with.

For a tweet the model infers which share of its words comes from each of four demographically aligned dialect
topics (African-American, Hispanic, Asian, White): a statement about the language, not the author's race. The
authors validated only the African-American and White proportions. Inference follows their ``predict.py``: the
tweet's lower-cased in-vocabulary tokens (at least 1, and at least 20% of its tokens, else no estimate), word
probabilities (N_wk + 1) / N_k from the count table, and collapsed variational Bayes (CVB0) with a symmetric prior
alpha = 1: a start from each token's likelihood, then 4 sequential update passes. Here the passes run over many
tweets at once (token position by token position), so the whole data set takes seconds.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hatespeech import PipelineError
from hatespeech.data.text import unescape

DIALECTS: tuple[str, ...] = ("african_american", "hispanic", "asian", "white")
"""The model's topics, in the count table's column order."""
GROUPS = {"aae": "african_american", "white": "white"}
"""The two dialect-aligned groups compared (ratios are the first over the second) and their topic."""

VOCABULARY_FILE = "model_vocab.txt.gz"
COUNTS_FILE = "model_count_table.txt.gz"

PRIOR = 1.0  # the authors' symmetric Dirichlet prior, alpha
PASSES = 5  # the authors' numpasses: the likelihood start counts as the first
MIN_TOKENS_IN_VOCABULARY = 1
MIN_SHARE_IN_VOCABULARY = 0.2
CHUNK = 8192  # tweets per vectorized block: bounds memory at (CHUNK x longest tweet x 4) floats

# Twitter markup the model never saw (its vocabulary has no @mentions, URLs or "rt"): not words of any dialect.
_MARKUP = re.compile(r"(?:https?://|www\.)\S+|@\w+:?")  # "RT @user:": the colon is markup too
_RETWEET = "rt"


@functools.cache
def _tokenizer():  # nltk is imported only by the audit, not by every module that imports this package
    from nltk.tokenize import TweetTokenizer

    return TweetTokenizer(preserve_case=False)


def tweet_tokens(text: str) -> list[str]:
    """A tweet's words for the dialect model: HTML entities unescaped (the models' :func:`unescape`), URLs,
    @mentions and the retweet marker removed, typographic apostrophes made plain, then nltk's TweetTokenizer
    (emoticons, emoji, hashtags and contractions kept whole), lower-cased."""
    # A typographic apostrophe as a plain one: "don\u2019t" is one token, don't, not three.
    cleaned = _MARKUP.sub(" ", unescape(text)).replace("\u2019", "'")
    return [token for token in _tokenizer().tokenize(cleaned) if token != _RETWEET]


@dataclass(frozen=True)
class DialectModel:
    """The TwitterAAE model: its vocabulary and each word's probability under each dialect topic."""

    vocabulary: dict[str, int]
    word_probabilities: np.ndarray  # (words, len(DIALECTS)): (N_wk + 1) / N_k

    @classmethod
    def load(cls, directory: str | Path) -> DialectModel:
        """The model files as shipped in data/twitteraae/ (gzip-compressed, as the authors published them)."""
        directory = Path(directory)
        try:
            # Every vocabulary line is one word: no quoting, and "null" or "nan" are words, not missing values.
            words = pd.read_csv(
                directory / VOCABULARY_FILE,
                sep="\t",
                header=None,
                names=["count", "word"],
                dtype={"word": str},
                quoting=csv.QUOTE_NONE,
                keep_default_na=False,
                na_filter=False,
                encoding="utf-8",
            )["word"]
            counts = pd.read_csv(directory / COUNTS_FILE, sep=r"\s+", header=None, dtype=np.float64).to_numpy()
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise PipelineError(f"cannot read the TwitterAAE dialect model in {directory}: {exc}") from exc
        if counts.shape != (len(words), len(DIALECTS)):
            raise PipelineError(
                f"the TwitterAAE model in {directory} is inconsistent: {len(words)} words but a "
                f"{counts.shape[0]} x {counts.shape[1]} count table (expected {len(DIALECTS)} columns)"
            )
        return cls({word: i for i, word in enumerate(words)}, (counts + 1) / counts.sum(axis=0))

    def proportions(self, texts: Iterable[str]) -> np.ndarray:
        """Each text's dialect proportions, shape (texts, 4) in :data:`DIALECTS` order; a row of NaN where the
        model gives no estimate (fewer than 1 or 20% of its tokens in the vocabulary)."""
        return self.token_proportions([tweet_tokens(text) for text in texts])

    def token_proportions(self, documents: Sequence[Sequence[str]]) -> np.ndarray:
        """:meth:`proportions` of already tokenized documents (lower-cased tokens)."""
        result = np.full((len(documents), len(DIALECTS)), np.nan)
        ids = [
            np.array([self.vocabulary[t] for t in tokens if t in self.vocabulary], dtype=np.int64)
            for tokens in documents
        ]
        known = np.array([len(i) for i in ids])
        total = np.array([len(tokens) for tokens in documents])
        estimable = (known >= MIN_TOKENS_IN_VOCABULARY) & (known >= MIN_SHARE_IN_VOCABULARY * np.maximum(total, 1))
        # Similar lengths together, so each block pads little.
        order = [i for i in np.argsort(known, kind="stable") if estimable[i]]
        for start in range(0, len(order), CHUNK):
            block = order[start : start + CHUNK]
            result[block] = self._cvb0([ids[i] for i in block])
        return result

    def _cvb0(self, documents: list[np.ndarray]) -> np.ndarray:
        lengths = np.array([len(d) for d in documents])
        present = np.arange(lengths.max())[None, :] < lengths[:, None]  # (documents, positions)
        padded = np.zeros(present.shape, dtype=np.int64)
        padded[present] = np.concatenate(documents)
        likelihood = self.word_probabilities[padded] * present[:, :, None]
        likelihood /= np.maximum(likelihood.sum(axis=2, keepdims=True), 1e-300)  # padding stays all zero
        responsibilities = likelihood.copy()
        totals = responsibilities.sum(axis=1)  # expected topic counts per document
        for _ in range(1, PASSES):
            for position in range(present.shape[1]):
                totals -= responsibilities[:, position]
                updated = likelihood[:, position] * (totals + PRIOR)
                norm = updated.sum(axis=1, keepdims=True)
                updated = np.divide(updated, norm, out=np.zeros_like(updated), where=norm > 0)
                responsibilities[:, position] = updated
                totals += updated
        return totals / totals.sum(axis=1, keepdims=True)


def dialect_groups(proportions: np.ndarray, threshold: float) -> np.ndarray:
    """Each tweet's group name (a key of :data:`GROUPS`) or "" from its (tweets, 4) dialect proportions: the group
    whose dialect's proportion is at least ``threshold`` (the papers' definition). At exactly one half a tweet could
    reach it for both: it is in neither, as are tweets without an estimate (NaN)."""
    groups = np.full(len(proportions), "", dtype=object)
    reached = {}
    with np.errstate(invalid="ignore"):  # NaN compares False
        for name, dialect in GROUPS.items():
            reached[name] = proportions[:, DIALECTS.index(dialect)] >= threshold
    both = np.logical_and(*reached.values())
    for name, rows in reached.items():
        groups[rows & ~both] = name
    return groups
