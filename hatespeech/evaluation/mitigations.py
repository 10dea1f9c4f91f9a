"""Training-time mitigations compared out of fold: several cross-validation runs of the same folds (the default
and each mitigation, `make cv` with a different ``fairness`` section), every row predicted once per run, each
run paired against the reference on the same rows.

Per run: macro F1 and hate F1 of the served predictions (the decision rule), and per dialect group the
gold-``neither`` false-flag rate and Sap et al.'s false-positive rates with their AAE/white ratios. Intervals and
p-values come from a fold-stratified paired bootstrap: each resample draws every fold's rows with replacement
within that fold, the same rows for every run, so a difference's interval holds the fold structure and the
pairing; p is two-sided (:func:`~hatespeech.evaluation.stats.paired_comparison`'s convention).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hatespeech import LABELS, PipelineError
from hatespeech.data.dialect import GROUPS
from hatespeech.evaluation.audit import MEASURES
from hatespeech.evaluation.stats import bootstrap_p_value, confusion_matrices, interval, metrics_from_confusion
from hatespeech.metrics import rounded

QUALITY = ("f1_macro", "f1_hate_speech")
GAP_MEASURES = ("false_flag_neither", "fpr_offensive", "fpr_hate")
FIRST, SECOND = GROUPS  # the ratio is the first group's rate over the second's


def stratified_indices(strata: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """``resamples`` x rows indices: every resample draws each stratum's rows with replacement from that stratum
    (so each fold keeps its size), in the rows' order."""
    rng = np.random.default_rng(seed)
    indices = np.empty((resamples, len(strata)), dtype=np.int64)
    for stratum in np.unique(strata):
        rows = np.flatnonzero(strata == stratum)
        indices[:, rows] = rows[rng.integers(0, len(rows), size=(resamples, len(rows)))]
    return indices


def _group_rate(predicted: np.ndarray, rows: np.ndarray, measure: str) -> np.ndarray:
    """A measure's rate over ``rows`` (a boolean matrix: which tweets of each resample count) per resample."""
    _, event = MEASURES[measure]
    hits = (event(predicted) & rows).sum(axis=-1)
    counts = rows.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(counts > 0, hits / np.maximum(counts, 1), np.nan)


def run_figures(
    labels: np.ndarray, groups: np.ndarray, predicted: np.ndarray, indices: np.ndarray
) -> dict[str, tuple[float, np.ndarray]]:
    """Each figure of one run: its value on the rows as they are and its value in every resample of ``indices``."""
    everything = np.arange(len(labels))[None, :]
    figures: dict[str, tuple[float, np.ndarray]] = {}
    point = metrics_from_confusion(confusion_matrices(labels, predicted, everything))
    samples = metrics_from_confusion(confusion_matrices(labels, predicted, indices))
    for metric in QUALITY:
        figures[metric] = (float(point[metric][0]), samples[metric])
    for measure in GAP_MEASURES:
        condition, _ = MEASURES[measure]
        rates = {}
        for group in GROUPS:
            rows = (groups == group) & condition(labels)
            value = _group_rate(predicted, rows[None, :], measure)[0]
            rates[group] = (float(value), _group_rate(predicted[indices], rows[indices], measure))
            figures[f"{measure}_{group}"] = rates[group]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = rates[FIRST][0] / rates[SECOND][0] if rates[SECOND][0] else float("nan")
            figures[f"{measure}_ratio"] = (ratio, rates[FIRST][1] / rates[SECOND][1])
    return figures


def _finite(samples: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(samples), samples, np.nan)


def compare_runs(
    labels: np.ndarray,
    groups: np.ndarray,
    folds: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    reference: str,
    resamples: int,
    seed: int,
) -> dict[str, Any]:
    """Every run's figures with 95% intervals, and each run's change against ``reference`` (the same resamples:
    the difference's interval and p-value), on rows whose gold ``labels``, dialect ``groups`` and ``folds`` are
    shared by all runs."""
    if reference not in predictions:
        raise PipelineError(f"the reference run {reference!r} is not among the runs: {', '.join(predictions)}")
    for name, predicted in predictions.items():
        if len(predicted) != len(labels):
            raise PipelineError(f"run {name!r} predicts {len(predicted)} rows, the reference {len(labels)}")
    indices = stratified_indices(folds, resamples, seed)
    figures = {name: run_figures(labels, groups, predicted, indices) for name, predicted in predictions.items()}
    report: dict[str, Any] = {
        "rows": len(labels),
        "groups": {group: int((groups == group).sum()) for group in GROUPS},
        "reference": reference,
        "resamples": resamples,
        "runs": {},
    }
    for name, run in figures.items():
        entry: dict[str, Any] = {}
        for figure, (value, samples) in run.items():
            entry[figure] = {"value": rounded(value) if np.isfinite(value) else None, **interval(_finite(samples))}
            if name != reference:
                base_value, base_samples = figures[reference][figure]
                differences = _finite(samples - base_samples)
                entry[figure]["change"] = {
                    "difference": rounded(value - base_value) if np.isfinite(value - base_value) else None,
                    **interval(differences),
                    "p_value": bootstrap_p_value(differences),
                }
        report["runs"][name] = entry
    return report


def markdown_table(report: Mapping[str, Any]) -> str:
    """The comparison as a Markdown table: per run the two ratios and the AAE offensive FPR (with intervals),
    macro and hate F1, and the paired changes' p-values against the reference."""
    header = (
        "| run | gold-neither false-flag ratio AAE/white | offensive FPR, AAE | offensive FPR ratio | macro F1 "
        "(change, p) | hate F1 (change, p) |"
    )
    lines = [header, "|---|---|---|---|---|---|"]

    def cell(figure: Mapping[str, Any]) -> str:
        value, low, high = figure["value"], figure["low"], figure["high"]
        if value is None:
            return "n/a"
        return f"{value:.3f} ({low:.3f}–{high:.3f})" if low is not None else f"{value:.3f}"

    def change(figure: Mapping[str, Any]) -> str:
        if "change" not in figure:
            return f"{figure['value']:.4f}"
        delta = figure["change"]
        return f"{figure['value']:.4f} ({delta['difference']:+.4f}, p = {delta['p_value']:.2g})"

    for name, run in report["runs"].items():
        lines.append(
            f"| {name} | {cell(run['false_flag_neither_ratio'])} | {cell(run['fpr_offensive_aae'])} | "
            f"{cell(run['fpr_offensive_ratio'])} | {change(run['f1_macro'])} | {change(run['f1_hate_speech'])} |"
        )
    labels = ", ".join(LABELS)
    return "\n".join(lines) + f"\n\nClasses: {labels}; {report['rows']} rows, {report['resamples']} resamples.\n"
