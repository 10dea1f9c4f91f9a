"""Whom does the model wrong? The dialect bias audit: how often a model flags tweets in African-American-aligned
English (AAE) against white-aligned English, overall and at the same gold label, with bootstrap intervals.

Groups come from the TwitterAAE dialect proportions (:mod:`~hatespeech.data.dialect`): a tweet is
``aae`` when its African-American proportion is at least ``audit.group_threshold``, ``white`` when its White
one is; other tweets (mixed, other dialects, no estimate) are in neither group. Rates use each model's served
predictions (``predicted_tuned``: its decision rule). The conditional rates are the fairer view: the gold labels
carry the annotators' own bias, but at the same gold label a fair model flags both groups alike. Sap et al.'s
(2019) per-class false-positive and false-negative rates are among them, and the whole audit is repeated with
the groups at ``audit.papers_threshold`` (their 0.8), so the figures sit beside the published ones on the same
definition.

Every rate has a 95% percentile-bootstrap interval (the group's rows resampled); the AAE/white ratio's interval
resamples the two groups independently. A rate over fewer than ``audit.min_group_size`` tweets is not reported
(null). :func:`group_neither_offset` is the measured mitigation (docs/bias-audit.md): an extra offset on the
``neither`` score of AAE-aligned tweets, chosen on validation to equalize the false-flag rate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hatespeech import LABEL2ID, LABELS, TEXT, PipelineError
from hatespeech.config import PARAMS_YAML, Section
from hatespeech.data.dialect import GROUPS, dialect_groups
from hatespeech.evaluation.predictions import class_probabilities, read_predictions
from hatespeech.evaluation.stats import INTERVAL_KEY, Bootstrap, paired_comparison
from hatespeech.io import read_table
from hatespeech.metrics import macro_f1, rounded
from hatespeech.model.decision import DecisionRule, RuleConfig
from hatespeech.model.ensemble import check_rows

HATE, OFFENSIVE, NEITHER = (LABEL2ID[name] for name in LABELS)
RATIO = "aae_vs_white"

# measure: (which tweets it is over, by their gold labels; which predictions count as the event)
MEASURES: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]] = {
    "flag_hate": (lambda gold: gold >= 0, lambda predicted: predicted == HATE),
    "flag_offensive": (lambda gold: gold >= 0, lambda predicted: predicted == OFFENSIVE),
    "flag_any": (lambda gold: gold >= 0, lambda predicted: predicted != NEITHER),
    "false_flag_neither": (lambda gold: gold == NEITHER, lambda predicted: predicted != NEITHER),  # flagged anyway
    "hate_flag_offensive": (lambda gold: gold == OFFENSIVE, lambda predicted: predicted == HATE),
    # Sap et al. (2019, Fig. 2): per class c the false-positive rate P(predicted = c | gold != c), and the
    # false-negative rate P(predicted != c | gold = c)
    "fpr_hate": (lambda gold: gold != HATE, lambda predicted: predicted == HATE),
    "fpr_offensive": (lambda gold: gold != OFFENSIVE, lambda predicted: predicted == OFFENSIVE),
    "fnr_hate": (lambda gold: gold == HATE, lambda predicted: predicted != HATE),
    "fnr_offensive": (lambda gold: gold == OFFENSIVE, lambda predicted: predicted != OFFENSIVE),
}
HEADLINE = "false_flag_neither"  # the ratio the README and the model card quote


@dataclass(frozen=True)
class AuditConfig(Section):
    """params.yaml's ``audit`` section."""

    SECTION = "audit"

    group_threshold: float = PARAMS_YAML
    papers_threshold: float = PARAMS_YAML
    min_group_size: int = PARAMS_YAML

    def validate(self) -> None:
        # From one half up, a group is a majority of the tweet's words (and no tweet is in both groups).
        for key in ("group_threshold", "papers_threshold"):
            if not 0.5 <= getattr(self, key) < 1:
                raise PipelineError(f"audit.{key} must be in [0.5, 1), got {getattr(self, key)}")
        if self.min_group_size < 1:
            raise PipelineError(f"audit.min_group_size must be at least 1, got {self.min_group_size}")


def _interval(samples: np.ndarray) -> dict[str, float | None]:
    low, high = np.percentile(samples, [2.5, 97.5])
    return {key: rounded(value) if np.isfinite(value) else None for key, value in (("low", low), ("high", high))}


def _rate_samples(events: np.ndarray, bootstrap: Bootstrap, stream: tuple[int, ...]) -> np.ndarray:
    """The event rate in each of ``bootstrap``'s resamples of ``events`` (a seeded stream per group and measure)."""
    rng = np.random.default_rng([bootstrap.seed, *stream])
    indices = rng.integers(0, len(events), size=(bootstrap.config.resamples, len(events)))
    return events[indices].mean(axis=1)


def group_rates(
    labels: np.ndarray, predicted: np.ndarray, groups: np.ndarray, config: AuditConfig, bootstrap: Bootstrap
) -> dict[str, Any]:
    """Per group: tweets, gold label shares, every :data:`MEASURES` rate with its interval and the tweets behind
    it; then each rate's AAE/white ratio with its interval."""
    audit: dict[str, Any] = {}
    samples: dict[str, dict[str, np.ndarray]] = {}
    for group_number, group in enumerate(GROUPS):
        rows = groups == group
        gold = labels[rows]
        entry: dict[str, Any] = {
            "tweets": int(rows.sum()),
            "gold_share": {name: rounded((gold == i).mean()) if len(gold) else None for i, name in enumerate(LABELS)},
            "support": {},
            INTERVAL_KEY: {},
        }
        samples[group] = {}
        for measure_number, (measure, (condition, event)) in enumerate(MEASURES.items()):
            subset = rows & condition(labels)
            events = event(predicted[subset]).astype(np.float64)
            entry["support"][measure] = len(events)
            if len(events) < config.min_group_size:
                entry[measure], entry[INTERVAL_KEY][measure] = None, None
                continue
            samples[group][measure] = _rate_samples(events, bootstrap, (group_number, measure_number))
            entry[measure] = rounded(events.mean())
            entry[INTERVAL_KEY][measure] = _interval(samples[group][measure])
        audit[group] = entry
    audit[RATIO] = _ratios(audit, samples)
    return audit


def _ratios(audit: Mapping[str, Any], samples: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, Any]:
    first, second = GROUPS
    ratios: dict[str, Any] = {INTERVAL_KEY: {}}
    for measure in MEASURES:
        numerator, denominator = audit[first][measure], audit[second][measure]
        if numerator is None or not denominator:
            ratios[measure], ratios[INTERVAL_KEY][measure] = None, None
            continue
        with np.errstate(divide="ignore", invalid="ignore"):  # a resample without events below: no upper bound
            ratio_samples = samples[first][measure] / samples[second][measure]
        ratios[measure] = rounded(numerator / denominator)
        ratios[INTERVAL_KEY][measure] = _interval(np.where(np.isnan(ratio_samples), np.inf, ratio_samples))
    return ratios


def dialect_audit(
    predictions: Mapping[str, pd.DataFrame], proportions: np.ndarray, config: AuditConfig, bootstrap: Bootstrap
) -> dict[str, Any]:
    """The audit of several models' predictions on the same tweets (one split, or every out-of-fold row), whose
    dialect proportions are ``proportions``: at ``group_threshold``, how many tweets each group holds, then each
    model's rates; the same again under ``at_papers_threshold`` with the groups at ``papers_threshold``."""
    audit = _audit_at(predictions, proportions, config.group_threshold, config, bootstrap)
    if config.papers_threshold != config.group_threshold:
        audit["at_papers_threshold"] = _audit_at(predictions, proportions, config.papers_threshold, config, bootstrap)
    return audit


def _audit_at(
    predictions: Mapping[str, pd.DataFrame],
    proportions: np.ndarray,
    threshold: float,
    config: AuditConfig,
    bootstrap: Bootstrap,
) -> dict[str, Any]:
    groups = dialect_groups(proportions, threshold)
    audit: dict[str, Any] = {
        "group_threshold": threshold,
        "tweets": {
            "all": len(groups),
            **{group: int((groups == group).sum()) for group in GROUPS},
            "no_estimate": int(np.isnan(proportions[:, 0]).sum()),
        },
    }
    for model, table in predictions.items():
        if len(table) != len(groups):
            raise PipelineError(f"{model}'s predictions hold {len(table)} tweets, the audit {len(groups)}")
        audit[model] = group_rates(
            table["label"].to_numpy(), table["predicted_tuned"].to_numpy(), groups, config, bootstrap
        )
    return audit


def fold_predictions(
    results: Path, folds_dir: Path, model: str, fold: int, split: str = "test"
) -> tuple[pd.DataFrame, list[str]]:
    """One cross-validation fold's predictions of a model on one of its splits,
    ``results/fold<i>/<model>/predictions.parquet``, and their texts, ``folds/fold<i>/<split>.parquet`` (the
    audit over every row reads each fold's test rows: each tweet once, predicted by a model that did not train on
    it)."""
    predictions = read_predictions(results / f"fold{fold}" / model / "predictions.parquet", split)
    texts = read_table(folds_dir / f"fold{fold}" / f"{split}.parquet")
    check_rows(predictions, texts, f"fold {fold} of the {model} ({split})")
    return predictions, texts[TEXT].tolist()


def headline(audit: Mapping[str, Any], model: str) -> str:
    """One line: a model's gold-neither false-flag rates and their ratio, and Sap et al.'s offensive
    false-positive rates and theirs, with intervals (logs, docs)."""
    entry, ratio = audit[model], audit[model][RATIO]
    parts = []
    for measure, name in ((HEADLINE, "false-flag rate on gold-neither tweets"), ("fpr_offensive", "offensive FPR")):
        rates = [
            f"{group} {_format(entry[group][measure], entry[group][INTERVAL_KEY][measure])} of "
            f"{entry[group]['support'][measure]}"
            for group in GROUPS
        ]
        parts.append(
            f"{name} {', '.join(rates)}; AAE/white ratio {_format(ratio[measure], ratio[INTERVAL_KEY][measure])}"
        )
    return f"{model}: " + "; ".join(parts)


def _format(value: float | None, interval: Mapping[str, float | None] | None) -> str:
    if value is None or interval is None:
        return "n/a (too few tweets)"

    def bound(x: float | None) -> str:
        return "inf" if x is None else f"{x:.3f}"

    return f"{value:.3f} [{bound(interval['low'])}, {bound(interval['high'])}]"


def plot_records(audit: Mapping[str, Any], models: list[str]) -> list[dict[str, Any]]:
    """One record per model, measure and group: the rate, for a `dvc plots` bar chart."""
    return [
        {"rate": audit[model][group][measure], "label": f"{model} | {measure} | {group}"}
        for model in models
        for measure in MEASURES
        for group in GROUPS
        if audit[model][group][measure] is not None
    ]


def _group_false_flags(predicted: np.ndarray, labels: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    condition, event = MEASURES[HEADLINE]  # the same definition as the audit's rate
    rates = {}
    for group in GROUPS:
        subset = (groups == group) & condition(labels)
        rates[group] = float(event(predicted[subset]).mean()) if subset.any() else float("nan")
    return rates


def offset_predictions(probabilities: np.ndarray, rule: DecisionRule, groups: np.ndarray, offset: float) -> np.ndarray:
    """The rule's predictions with ``offset`` more on the ``neither`` score of the AAE-aligned tweets."""
    predicted = rule.predict(probabilities)
    aae = groups == "aae"
    if offset and aae.any():
        shifted = {**rule.offsets, LABELS[NEITHER]: rule.offsets[LABELS[NEITHER]] + offset}
        predicted[aae] = replace(rule, offsets=shifted).predict(probabilities[aae])
    return predicted


def group_neither_offset(
    probabilities: np.ndarray, labels: np.ndarray, groups: np.ndarray, rule: DecisionRule, grid: RuleConfig
) -> tuple[float, dict[str, Any]]:
    """The smallest offset in ``grid`` (0, step, ..., max_offset) that brings the AAE false-flag rate on
    gold-neither tweets closest to the white one, on the rows given (the validation split), and what it did there."""
    steps = int(round(grid.max_offset / grid.step))
    best, best_gap = 0.0, float("inf")
    for offset in np.arange(steps + 1) * grid.step:
        rates = _group_false_flags(offset_predictions(probabilities, rule, groups, offset), labels, groups)
        gap = abs(rates["aae"] - rates["white"])
        if gap < best_gap - 1e-12:
            best, best_gap = float(offset), gap
    before = offset_predictions(probabilities, rule, groups, 0.0)
    after = offset_predictions(probabilities, rule, groups, best)
    fit = {
        "offset": rounded(best),
        "false_flag_neither_before": {k: rounded(v) for k, v in _group_false_flags(before, labels, groups).items()},
        "false_flag_neither_after": {k: rounded(v) for k, v in _group_false_flags(after, labels, groups).items()},
        "f1_macro_before": rounded(macro_f1(labels, before, len(LABELS))),
        "f1_macro_after": rounded(macro_f1(labels, after, len(LABELS))),
    }
    return best, fit


METHOD = "extra offset on the neither score of AAE-aligned tweets, chosen on validation"


@dataclass(frozen=True)
class MitigationSplit:
    """What the mitigation is fitted on and applied to: one model's validation and test predictions (tables as
    the evaluate stage writes them), their tweets' dialect groups, and the model's own decision rule."""

    validation: pd.DataFrame
    validation_groups: np.ndarray
    test: pd.DataFrame
    test_groups: np.ndarray
    rule: DecisionRule


def _fit_and_apply(split: MitigationSplit, grid: RuleConfig) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """The offset fitted on the split's validation rows, and its test predictions without and with it."""
    offset, fit = group_neither_offset(
        class_probabilities(split.validation),
        split.validation["label"].to_numpy(),
        split.validation_groups,
        split.rule,
        grid,
    )
    probabilities = class_probabilities(split.test)
    before = offset_predictions(probabilities, split.rule, split.test_groups, 0.0)
    return fit, before, offset_predictions(probabilities, split.rule, split.test_groups, offset)


def _effect(
    labels: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    groups: np.ndarray,
    config: AuditConfig,
    bootstrap: Bootstrap,
) -> dict[str, Any]:
    """The false-flag ratio without and with the offset (with intervals), and the paired change in macro F1."""
    paired = paired_comparison(labels, before, after, bootstrap.config.resamples, bootstrap.seed, ("before", "after"))
    ratio = {}
    for name, predicted in (("before", before), ("after", after)):
        audit = group_rates(labels, predicted, groups, config, bootstrap)[RATIO]
        ratio[name] = {"ratio": audit[HEADLINE], INTERVAL_KEY: audit[INTERVAL_KEY][HEADLINE]}
    return {"false_flag_neither_ratio": ratio, "f1_macro": paired["f1_macro"]}


def mitigation_report(
    split: MitigationSplit, grid: RuleConfig, config: AuditConfig, bootstrap: Bootstrap
) -> dict[str, Any]:
    """The group offset fitted on validation, then the test split scored once with and without it: the
    false-flag ratio of each (with intervals) and the paired change in macro F1 (bootstrap interval, p-value)."""
    fit, before, after = _fit_and_apply(split, grid)
    effect = _effect(split.test["label"].to_numpy(), before, after, split.test_groups, config, bootstrap)
    # measured only: served predictions never depend on a dialect estimate
    return {"method": METHOD, "applied": False, "validation": fit, "test": effect}


def pooled_mitigation_report(
    folds: Sequence[MitigationSplit], grid: RuleConfig, config: AuditConfig, bootstrap: Bootstrap
) -> dict[str, Any]:
    """:func:`mitigation_report` over cross-validation folds: each fold's offset fitted on its own validation
    rows and applied to its test rows, then every row's predictions pooled for the ratios and the paired test."""
    fits: dict[str, Any] = {}
    pooled = []
    for number, split in enumerate(folds):
        fits[f"fold_{number}"], before, after = _fit_and_apply(split, grid)
        pooled.append((split.test["label"].to_numpy(), before, after, split.test_groups))
    labels, before, after, groups = (np.concatenate(column) for column in zip(*pooled))
    effect = _effect(labels, before, after, groups, config, bootstrap)
    return {"method": METHOD, "applied": False, "validation": fits, "every_row": effect}
