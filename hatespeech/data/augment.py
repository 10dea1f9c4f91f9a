"""Training data beyond the tweets: disguised copies of training tweets (the spelling variations users write to
evade filters) and sentences from the training templates (identity terms in neutral, positive, negated and
counter-speech sentences, and attacks on groups), added to the train split only.

The words disguised in a toxic tweet are its *offensive words*: the :func:`offensive_lexicon` learnt from the
train split (words far more frequent in hate and offensive tweets than in the others), so no list of slurs is
written by hand; a ``neither`` tweet gets one ordinary word disguised, so a disguise alone is no sign of abuse.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from hatespeech import LABEL, LABEL2ID, TEXT, VOTE_COLUMNS, PipelineError
from hatespeech.config import PARAMS_YAML, Section
from hatespeech.data.disguise import DISGUISES, disguise_text
from hatespeech.data.functional import FUNCTIONALITY
from hatespeech.data.text import Normalizer

SOURCE = "source"  # a train row's origin: tweet, disguised, template
_WORDS = re.compile(r"[a-z]+")
NEITHER = LABEL2ID["neither"]


@dataclass(frozen=True)
class AugmentConfig(Section):
    """params.yaml's ``augment`` section."""

    SECTION = "augment"
    disguise_share: float = PARAMS_YAML
    disguises: tuple[str, ...] = PARAMS_YAML
    lexicon_min_count: int = PARAMS_YAML
    lexicon_min_ratio: float = PARAMS_YAML
    template_share: float = PARAMS_YAML
    profanity_list: Literal["none", "masked", "all"] = PARAMS_YAML

    def validate(self) -> None:
        if not (0 <= self.disguise_share <= 1 and 0 <= self.template_share <= 1):
            raise PipelineError("augment.disguise_share and augment.template_share must lie in [0, 1]")
        unknown = sorted(set(self.disguises) - set(DISGUISES))
        if unknown or not self.disguises:
            raise PipelineError(f"augment.disguises: choose from {', '.join(DISGUISES)} (unknown: {unknown})")
        if self.lexicon_min_count < 1 or self.lexicon_min_ratio <= 1:
            raise PipelineError("augment.lexicon_min_count must be >= 1 and lexicon_min_ratio > 1")


def offensive_lexicon(texts: pd.Series, labels: np.ndarray, min_count: int, min_ratio: float) -> list[str]:
    """Words of at least 3 letters in ``min_count`` or more tweets whose rate among hate/offensive tweets is at
    least ``min_ratio`` times their rate among ``neither`` tweets (add-one smoothed), most frequent first."""
    toxic: Counter[str] = Counter()
    other: Counter[str] = Counter()
    for text, label in zip(texts, labels):
        words = set(_WORDS.findall(text.lower()))
        (other if label == NEITHER else toxic).update(words)
    n_toxic, n_other = max(int((labels != NEITHER).sum()), 1), max(int((labels == NEITHER).sum()), 1)
    chosen = [
        word
        for word, count in toxic.items()
        if len(word) >= 3
        and count + other[word] >= min_count
        and (count / n_toxic) >= min_ratio * ((other[word] + 1) / n_other)
    ]
    return sorted(chosen, key=lambda w: (-toxic[w], w))


def learn_lexicon(
    tweets: pd.DataFrame, config: AugmentConfig, extra_words: Sequence[str] = ()
) -> tuple[list[str], list[str]]:
    """The :func:`offensive_lexicon` of normalized train ``tweets``, and it followed by ``extra_words`` (the
    target groups' slurs) lower-cased, without repeats."""
    learnt = offensive_lexicon(
        tweets[TEXT], tweets[LABEL].to_numpy(), config.lexicon_min_count, config.lexicon_min_ratio
    )
    return learnt, list(dict.fromkeys([*learnt, *(w.lower() for w in extra_words)]))


def disguised_copies(
    frame: pd.DataFrame, lexicon: list[str], config: AugmentConfig, rng: random.Random
) -> pd.DataFrame:
    """One disguised copy of a ``config.disguise_share`` sample of ``frame``'s rows, same label: toxic rows with
    their lexicon words disguised (rows without one are skipped), ``neither`` rows with one ordinary word."""
    picked = sorted(rng.sample(range(len(frame)), round(config.disguise_share * len(frame))))
    rows = []
    for i in picked:
        row = frame.iloc[i]
        kind = rng.choice(config.disguises)
        if row[LABEL] == NEITHER:
            words = [w for w in _WORDS.findall(row[TEXT].lower()) if len(w) >= 4]
            text, changed = disguise_text(row[TEXT], [rng.choice(words)] if words else [], kind, rng, 1)
        else:
            text, changed = disguise_text(row[TEXT], lexicon, kind, rng)
        if changed:
            rows.append({**row.to_dict(), TEXT: text, SOURCE: "disguised"})
    return pd.DataFrame(rows, columns=[*frame.columns, SOURCE])


def template_rows(templates: pd.DataFrame, count: int, rng: random.Random) -> pd.DataFrame:
    """``count`` rows drawn from the training templates' examples, the same number from each functionality (a
    functionality of a dozen fixed sentences counts as much as one of hundreds of filled templates); within one,
    each example once, in random order, before any repeats."""
    if count == 0 or templates.empty:
        return pd.DataFrame(columns=[TEXT, LABEL, SOURCE])
    groups = [members.index.to_numpy() for _, members in templates.groupby(FUNCTIONALITY, sort=True)]
    order: list[int] = []
    for k, members in enumerate(groups):
        quota = count // len(groups) + (k < count % len(groups))
        cycles = -(-quota // len(members))
        order += [int(i) for _ in range(cycles) for i in rng.sample(list(members), len(members))][:quota]
    chosen = templates.loc[order]
    return pd.DataFrame({TEXT: chosen[TEXT].to_numpy(), LABEL: chosen[LABEL].to_numpy(), SOURCE: "template"})


def without_votes(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with generated rows' missing vote counts as 0 (no annotator voted on them: soft labels fall back
    to the hard label) and integer labels."""
    for column in (*VOTE_COLUMNS, "count"):
        if column in frame.columns:
            frame[column] = frame[column].fillna(0).astype(int)
    frame[LABEL] = frame[LABEL].astype(int)
    return frame


def augment_train(
    train: pd.DataFrame,
    templates: pd.DataFrame,
    normalizer: Normalizer,
    config: AugmentConfig,
    seed: int,
    extra_words: Sequence[str] = (),
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The train split (texts normalized) plus template rows and disguised copies of both, shuffled, with a
    :data:`SOURCE` column; and what was added (counts by source and label) with the lexicon of words disguised
    in toxic rows: the one learnt from the train split plus ``extra_words`` (the target groups' slurs)."""
    rng = random.Random(f"augment|{seed}")
    tweets = train.assign(**{TEXT: normalizer.apply(train[TEXT]), SOURCE: "tweet"})
    learnt, lexicon = learn_lexicon(tweets, config, extra_words)
    extra = template_rows(templates, round(config.template_share * len(train)), rng)
    extra = extra.assign(**{TEXT: normalizer.apply(extra[TEXT])})
    base = pd.concat([p for p in (tweets, extra) if not p.empty], ignore_index=True)
    disguised = disguised_copies(base.drop(columns=SOURCE), lexicon, config, rng)
    frame = without_votes(pd.concat([p for p in (base, disguised) if not p.empty], ignore_index=True))
    frame = frame.iloc[np.random.default_rng(seed).permutation(len(frame))].reset_index(drop=True)
    stats = {**row_counts(frame), "lexicon_learnt": len(learnt), "lexicon": len(lexicon)}
    return frame, {"stats": stats, "lexicon": lexicon}


def row_counts(train: pd.DataFrame) -> dict[str, dict[str, int]]:
    """The train split's rows by source (tweet, template, disguised, and correction or counterfactual where the
    stage added them) and by source and label, for metrics/augment.json."""
    counts = train.groupby([SOURCE, LABEL]).size()
    return {
        "rows": {str(source): int(counts[source].sum()) for source in counts.index.get_level_values(0).unique()},
        "by_label": {f"{source}/{label}": int(n) for (source, label), n in counts.items()},
    }
