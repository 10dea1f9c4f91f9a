"""The linear baseline: TF-IDF word and character n-grams + logistic regression (Davidson et al. 2017 style).

Persisted with skops, which stores the fitted arrays without pickle and refuses to load any type that is not
explicitly trusted; the only non-standard type in the file is this module's tweet normalizer.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hatespeech import LABEL, LABELS, TEXT, PipelineError

MODEL_FILE = "model.skops"
CLASS_WEIGHTS = ("none", "balanced")

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_SPACE = re.compile(r"\s+")


def normalize_tweet(text: str) -> str:
    """Lower-case, unescape HTML entities (the data has ``&amp;`` etc.), and map URLs and @mentions to one
    token each, as Davidson et al. did: their identity carries no signal, only their presence."""
    text = html.unescape(text).lower()
    text = _URL.sub(" urlhere ", text)
    text = _MENTION.sub(" mentionhere ", text)
    return _SPACE.sub(" ", text).strip()


# Types in a saved baseline beyond skops' defaults; loading refuses anything else.
TRUSTED_TYPES = frozenset({f"{__name__}.normalize_tweet"})


@dataclass(frozen=True)
class BaselineConfig:
    """The ``baseline`` section of params.yaml."""

    word_ngram_max: int = 2  # word n-grams 1..this
    char_ngram_min: int = 2  # character n-grams (within word boundaries) min..max
    char_ngram_max: int = 5
    min_df: int = 2  # drop n-grams seen in fewer training tweets
    C: float = 4.0  # inverse L2 regularization strength
    class_weight: str = "balanced"  # none | balanced
    max_iter: int = 2000

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> BaselineConfig:
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise PipelineError(f"unknown baseline parameter(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        try:
            casts = {"int": int, "float": float, "str": str}
            config = cls(**{name: casts[known[name]](value) for name, value in params.items()})
        except (TypeError, ValueError) as exc:
            raise PipelineError(f"bad baseline parameter: {exc}") from exc
        if config.class_weight not in CLASS_WEIGHTS:
            raise PipelineError(f"baseline.class_weight must be one of {CLASS_WEIGHTS}, got '{config.class_weight}'")
        if not (1 <= config.char_ngram_min <= config.char_ngram_max and config.word_ngram_max >= 1):
            raise PipelineError("baseline n-gram ranges must satisfy 1 <= char_ngram_min <= char_ngram_max, word_ngram_max >= 1")
        if not (config.C > 0 and config.min_df >= 1 and config.max_iter >= 1):
            raise PipelineError("baseline.C must be positive, min_df and max_iter at least 1")
        return config


def build_baseline(config: BaselineConfig, seed: int) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    def vectorizer(**kwargs: Any) -> TfidfVectorizer:
        return TfidfVectorizer(preprocessor=normalize_tweet, min_df=config.min_df, sublinear_tf=True, dtype=np.float32, **kwargs)

    features = FeatureUnion(
        [
            ("words", vectorizer(ngram_range=(1, config.word_ngram_max))),
            ("chars", vectorizer(analyzer="char_wb", ngram_range=(config.char_ngram_min, config.char_ngram_max))),
        ]
    )
    classifier = LogisticRegression(
        C=config.C,
        class_weight=None if config.class_weight == "none" else config.class_weight,
        max_iter=config.max_iter,
        random_state=seed,
    )
    return Pipeline([("features", features), ("classifier", classifier)])


def train_baseline(train: pd.DataFrame, config: BaselineConfig, seed: int) -> Any:
    missing = sorted(set(range(len(LABELS))) - set(train[LABEL].unique()))
    if missing:
        raise PipelineError(f"the training split has no example of {', '.join(LABELS[i] for i in missing)}")
    return build_baseline(config, seed).fit(train[TEXT].tolist(), train[LABEL].to_numpy())


def predict_proba(model: Any, texts: pd.Series | list[str]) -> np.ndarray:
    """Class probabilities with columns in LABELS order."""
    probabilities = model.predict_proba(list(texts))
    order = [int(np.flatnonzero(model.classes_ == i)[0]) for i in range(len(LABELS))]
    return probabilities[:, order]


def save_baseline(model: Any, directory: Path) -> Path:
    import skops.io

    path = directory / MODEL_FILE
    skops.io.dump(model, path)
    return path


def load_baseline(directory: str | Path) -> Any:
    """Load a saved baseline, refusing files that contain types outside skops' defaults and TRUSTED_TYPES."""
    import skops.io

    path = Path(directory) / MODEL_FILE
    if not path.is_file():
        raise PipelineError(f"no baseline model at {path}: run the baseline stage")
    untrusted = set(skops.io.get_untrusted_types(file=path))
    unexpected = sorted(untrusted - TRUSTED_TYPES)
    if unexpected:
        raise PipelineError(f"{path} contains types that are not trusted: {', '.join(unexpected)}")
    return skops.io.load(path, trusted=sorted(untrusted))
