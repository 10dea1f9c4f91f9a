"""How a model behaves on what users send: accuracy on the functional suite (per functionality, per target group,
hateful and non-hateful cases, macro over functionalities, each with a 95% interval) and how often it still flags
real toxic test tweets whose offensive words are disguised (and how often disguises alone make it flag ``neither``
tweets), per disguise kind.

A *scorer* maps raw texts to label names: the transformer's :class:`~hatespeech.model.inference.Classifier` or
the baseline, each with its own normalizer and decision rule.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hatespeech import LABEL, LABELS, TEXT, PipelineError
from hatespeech.config import PARAMS_YAML, Section
from hatespeech.data.disguise import DISGUISES, disguise_text
from hatespeech.data.functional import is_correct
from hatespeech.evaluation.stats import Bootstrap, bootstrap_indices
from hatespeech.metrics import rounded

Scorer = Callable[[Sequence[str]], list[str]]  # raw texts -> label names
FLAGGED = ("hate_speech", "offensive_language")
NEITHER = LABELS.index("neither")
Z95 = 1.959964
_WORDS = re.compile(r"[a-z]{4,}")


@dataclass(frozen=True)
class FunctionalConfig(Section):
    """params.yaml's ``functional`` section."""

    SECTION = "functional"
    real_tweets: int = PARAMS_YAML
    weakest: int = PARAMS_YAML
    max_cases_per_functionality: int | None = PARAMS_YAML

    def validate(self) -> None:
        if self.real_tweets < 0 or self.weakest < 1:
            raise PipelineError("functional.real_tweets must be >= 0 and functional.weakest >= 1")
        if self.max_cases_per_functionality is not None and self.max_cases_per_functionality < 1:
            raise PipelineError("functional.max_cases_per_functionality must be at least 1 (or null: every case)")


def scored_once(score: Scorer, key: Callable[[list[str]], list[str]]) -> Scorer:
    """``score`` that scores each distinct ``key`` of a text once, over all its calls: ``score`` gets one text per
    new key, and every text with that key, in this call or a later one, gets its label. With the model's normalizer
    as ``key`` (the model only ever sees the normalized text), the suite's disguised spellings and the disguised
    tweets that normalize back to a text already scored cost no model pass."""
    labels: dict[str, str] = {}

    def scored(texts: Sequence[str]) -> list[str]:
        keys = key(list(texts))
        new = {k: text for text, k in zip(texts, keys) if k not in labels}
        if new:
            labels.update(zip(new, score(list(new.values()))))
        return [labels[k] for k in keys]

    return scored


def sample_cases(cases: pd.DataFrame, per_functionality: int | None, seed: int) -> pd.DataFrame:
    """At most ``per_functionality`` cases of each functionality (a seeded sample, in the suite's order); all of
    them when None. The figures of a sample are the suite's only in expectation: for quick runs, not reports."""
    if per_functionality is None:
        return cases
    rng = np.random.default_rng(seed)
    keep = [
        position
        for positions in cases.groupby("functionality", sort=False).indices.values()
        for position in rng.choice(positions, size=min(len(positions), per_functionality), replace=False)
    ]
    return cases.iloc[sorted(keep)].reset_index(drop=True)


def wilson(successes: int, trials: int) -> dict[str, float | None]:
    """The Wilson score 95% interval of a proportion (None bounds for no trials)."""
    if trials == 0:
        return {"low": None, "high": None}
    p, z2 = successes / trials, Z95 * Z95
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = Z95 * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    return {"low": rounded(max(0.0, centre - half)), "high": rounded(min(1.0, centre + half))}


def _proportion(hits: np.ndarray) -> dict[str, Any]:
    k, n = int(hits.sum()), int(hits.size)
    return {"accuracy": rounded(k / n) if n else None, "cases": n, "ci95": wilson(k, n)}


def _macro(hits: np.ndarray, functionality: np.ndarray, bootstrap: Bootstrap) -> dict[str, Any]:
    """The mean of the functionalities' accuracies, with a bootstrap interval resampling cases within each."""
    names = list(dict.fromkeys(functionality))
    members = [np.flatnonzero(functionality == name) for name in names]
    value = float(np.mean([hits[m].mean() for m in members]))
    samples = np.zeros(bootstrap.config.resamples)
    for m in members:
        draws = bootstrap_indices(m.size, bootstrap.config.resamples, bootstrap.seed)
        samples += hits[m][draws].mean(axis=1)
    samples /= len(members)
    low, high = np.percentile(samples, [2.5, 97.5])
    return {
        "accuracy": rounded(value),
        "functionalities": len(names),
        "ci95": {"low": rounded(low), "high": rounded(high)},
    }


def suite_report(
    cases: pd.DataFrame, predicted: Sequence[str], bootstrap: Bootstrap, descriptions: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Accuracy of ``predicted`` label names on the suite's ``cases`` (from
    :func:`~hatespeech.data.functional.generate_cases`), each functionality with its ``descriptions`` entry."""
    hits = np.asarray(is_correct(cases["expected"], predicted))
    hateful = (cases["expected"] == "hate").to_numpy()
    functionality = cases["functionality"].to_numpy()
    report: dict[str, Any] = {
        "overall": _proportion(hits),
        "hateful": _proportion(hits[hateful]),
        "non_hateful": _proportion(hits[~hateful]),
        "macro": _macro(hits, functionality, bootstrap),
        "functionalities": {},
        "groups": {},
    }
    for name in dict.fromkeys(functionality):
        mask = functionality == name
        report["functionalities"][name] = {
            "description": (descriptions or {}).get(name, ""),
            "expected": cases["expected"][mask].iloc[0],
            **_proportion(hits[mask]),
        }
    groups = cases["target_group"].fillna("").to_numpy()
    for group in sorted(set(groups) - {""}):
        mask = groups == group
        report["groups"][group] = {
            **_proportion(hits[mask]),
            "hateful": _proportion(hits[mask & hateful])["accuracy"],
            "non_hateful": _proportion(hits[mask & ~hateful])["accuracy"],
        }
    return report


def weakest(report: dict[str, Any], count: int) -> list[tuple[str, float]]:
    """The ``count`` functionalities with the lowest accuracy, lowest first."""
    ranked = sorted(report["functionalities"].items(), key=lambda item: (item[1]["accuracy"], item[0]))
    return [(name, entry["accuracy"]) for name, entry in ranked[:count]]


def disguise_report(
    test: pd.DataFrame, lexicon: Sequence[str], score: Scorer, config: FunctionalConfig, seed: int
) -> dict[str, Any]:
    """Per disguise kind, on real test tweets: the share of toxic tweets the model flags (hate or offensive) as
    they are that it still flags with their offensive words (``lexicon``) disguised, and the share of ``neither``
    tweets it leaves alone that it flags once one ordinary word is disguised (the disguise's false-flag cost)."""
    if config.real_tweets == 0:
        return {}
    rng = random.Random(f"functional|{seed}")
    labels = test[LABEL].to_numpy()
    texts = test[TEXT].tolist()
    order = rng.sample(range(len(texts)), len(texts))
    toxic = [i for i in order if labels[i] != NEITHER and any(w in lexicon for w in _WORDS.findall(texts[i].lower()))]
    neither = [i for i in order if labels[i] == NEITHER]
    toxic, neither = toxic[: config.real_tweets], neither[: config.real_tweets]
    plain = score([texts[i] for i in toxic + neither])
    flagged = [i for i, label in zip(toxic, plain) if label in FLAGGED]
    clean = [i for i, label in zip(neither, plain[len(toxic) :]) if label not in FLAGGED]
    report: dict[str, Any] = {
        "toxic_tweets": len(toxic),
        "flagged_plain": rounded(len(flagged) / len(toxic)) if toxic else None,
        "kinds": {},
    }
    for kind in DISGUISES:
        disguised = [disguise_text(texts[i], lexicon, kind, rng) for i in flagged]
        kept = [text for text, changed in disguised if changed]
        ordinary = []
        for i in clean:
            words = _WORDS.findall(texts[i].lower())
            text, changed = disguise_text(texts[i], [rng.choice(words)] if words else [], kind, rng, 1)
            if changed:
                ordinary.append(text)
        labels_out = score(kept + ordinary)
        still = np.array([label in FLAGGED for label in labels_out[: len(kept)]])
        false = np.array([label in FLAGGED for label in labels_out[len(kept) :]])
        report["kinds"][kind] = {
            "flag_rate": rounded(still.mean()) if still.size else None,
            "tweets": int(still.size),
            "ci95": wilson(int(still.sum()), int(still.size)),
            "neither_false_flag_rate": rounded(false.mean()) if false.size else None,
            "neither_tweets": int(false.size),
        }
    rates = [k["flag_rate"] for k in report["kinds"].values() if k["flag_rate"] is not None]
    report["lowest_flag_rate"] = min(rates) if rates else None
    return report
