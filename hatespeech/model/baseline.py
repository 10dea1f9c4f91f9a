"""The linear baseline: TF-IDF word and character n-grams + logistic regression (Davidson et al. 2017 style).

Persisted with skops, which stores the fitted arrays without pickle and refuses to load any type that is not
explicitly trusted; the only non-standard type in the file is this module's tweet normalizer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from hatespeech import LABEL, LABELS, TEXT, PipelineError
from hatespeech.config import PARAMS_YAML, Section
from hatespeech.data.text import Normalizer, mask_tweet, squeeze_spaces
from hatespeech.model.decision import DecisionRule

MODEL_FILE = "model.skops"
ClassWeight = Literal["none", "balanced"]


def normalize_tweet(text: str) -> str:
    """Lower-case, unescape HTML entities (the data has ``&amp;`` etc.), and map URLs and @mentions to one
    token each, as Davidson et al. did: their identity carries no signal, only their presence."""
    return squeeze_spaces(mask_tweet(text, url=" urlhere ", mention=" mentionhere "))


# Types in a saved baseline beyond skops' defaults; loading refuses anything else.
TRUSTED_TYPES = frozenset({f"{__name__}.normalize_tweet"})


@dataclass(frozen=True)
class BaselineConfig(Section):
    """The ``baseline`` section of params.yaml."""

    SECTION = "baseline"

    word_ngram_max: int = PARAMS_YAML
    char_ngram_min: int = PARAMS_YAML
    char_ngram_max: int = PARAMS_YAML
    min_df: int = PARAMS_YAML
    C: float = PARAMS_YAML
    class_weight: ClassWeight = PARAMS_YAML
    max_iter: int = PARAMS_YAML

    def validate(self) -> None:
        if not (1 <= self.char_ngram_min <= self.char_ngram_max and self.word_ngram_max >= 1):
            raise PipelineError(
                "baseline n-gram ranges must satisfy 1 <= char_ngram_min <= char_ngram_max, word_ngram_max >= 1"
            )
        if not (self.C > 0 and self.min_df >= 1 and self.max_iter >= 1):
            raise PipelineError("baseline.C must be positive, min_df and max_iter at least 1")


def build_baseline(config: BaselineConfig, seed: int) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    def vectorizer(**kwargs: Any) -> TfidfVectorizer:
        return TfidfVectorizer(
            preprocessor=normalize_tweet, min_df=config.min_df, sublinear_tf=True, dtype=np.float32, **kwargs
        )

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


def train_baseline(train: pd.DataFrame, config: BaselineConfig, seed: int, normalizer: Normalizer) -> Any:
    """The baseline fitted on ``train``'s texts as ``normalizer`` cleans them (the transformer's clean-up)."""
    missing = sorted(set(range(len(LABELS))) - set(train[LABEL].unique()))
    if missing:
        raise PipelineError(f"the training split has no example of {', '.join(LABELS[i] for i in missing)}")
    return build_baseline(config, seed).fit(normalizer.apply(train[TEXT]), train[LABEL].to_numpy())


def predict_proba(model: Any, texts: pd.Series | list[str], normalizer: Normalizer) -> np.ndarray:
    """Class probabilities with columns in LABELS order, of ``texts`` as ``normalizer`` (the model's) cleans them."""
    probabilities = model.predict_proba(normalizer.apply(texts))
    order = [int(np.flatnonzero(model.classes_ == i)[0]) for i in range(len(LABELS))]
    return probabilities[:, order]


def save_baseline(model: Any, directory: Path) -> Path:
    """Write ``model`` as ``directory/model.skops``, byte for byte the same for the same fitted model."""
    import skops.io

    # sklearn's vectorizers cache the address of their stop-word list (``_stop_words_id``) to skip a check;
    # an address means nothing in another process, and would make every file differ.
    from sklearn.base import BaseEstimator

    for part in [model, *model.get_params(deep=True).values()]:
        if isinstance(part, BaseEstimator):
            vars(part).pop("_stop_words_id", None)
    path = directory / MODEL_FILE
    path.write_bytes(canonical_skops(skops.io.dumps(model)))
    return path


# Any fixed time (zip's epoch): skops stamps each member with the time it was written.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def canonical_skops(archive: bytes) -> bytes:
    """The same skops archive with what varies between runs made canonical, so equal models give equal files.

    skops names each array's member after its object's memory address (``id()``) or a random UUID and records
    those addresses as ``__id__`` (the loader's key for shared references), and stamps each zip member with the
    current time. Here addresses become 0, 1, 2... in the schema's order, members are renamed to match, and
    every member carries a fixed time. The loader sees the same graph: only names change, consistently. The schema
    is written as compact JSON (skops indents it): the TF-IDF vocabularies make it a few million nodes, and
    indentation alone tripled the file (about 70 MB against 20 for the reference baseline).
    """
    import io
    import json
    import zipfile

    with zipfile.ZipFile(io.BytesIO(archive)) as source:
        members = {name: source.read(name) for name in source.namelist()}
    schema = json.loads(members.pop("schema.json"))
    ids: dict[int, int] = {}
    renamed: dict[str, str] = {}

    def rename(node: Any) -> Any:
        if isinstance(node, list):
            return [rename(item) for item in node]
        if not isinstance(node, dict):
            return node
        result = {}
        for key, value in node.items():
            if key == "__id__" and isinstance(value, int):
                value = ids.setdefault(value, len(ids))
            elif key == "file" and isinstance(value, str) and value in members:
                value = renamed.setdefault(value, f"{len(renamed)}{Path(value).suffix}")
            result[key] = rename(value)
        return result

    schema = rename(schema)
    if set(renamed) != set(members):  # a member the schema does not name: a format this code does not know
        raise PipelineError(f"unexpected skops archive layout: {sorted(set(members) - set(renamed))}")
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_STORED) as target:
        for name, data in sorted(
            [(new, members[old]) for old, new in renamed.items()]
            + [("schema.json", json.dumps(schema, separators=(",", ":")).encode())]
        ):
            target.writestr(zipfile.ZipInfo(name, date_time=_ZIP_TIME), data)
    return output.getvalue()


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


def baseline_labels(directory: str | Path) -> Callable[[Sequence[str]], list[str]]:
    """A saved baseline as a function of raw texts to label names: its normalizer, model and decision rule."""
    model, rule, normalizer = load_baseline(directory), DecisionRule.load(directory), Normalizer.load(directory)
    return lambda texts: [LABELS[i] for i in rule.predict(predict_proba(model, list(texts), normalizer))]
