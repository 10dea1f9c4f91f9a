"""The model card: a Hugging Face README.md (YAML metadata, then sections) written from the run's own files,
so it is regenerated on every run and never edited by hand.

What it states comes from the training metadata, the decision rule, the test metrics of the model and the
baseline, their paired comparison and the error analysis; the limitations from the literature are fixed text
(with references), the figures that back them are this run's.
"""

from __future__ import annotations

import json
import string
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from hatespeech import LABELS, PipelineError
from hatespeech.io import read_json
from hatespeech.paths import METADATA_FILE, RULE_FILE

DATASET_ID = "tdavidson/hate_speech_offensive"


def card_metadata(test: Mapping[str, Any], checkpoint: str) -> dict[str, Any]:
    """The YAML block: what the Hub indexes (language, licence, dataset, task) and the test metrics."""
    metrics = [
        {"type": "accuracy", "name": "Accuracy", "value": test["accuracy"]},
        {"type": "f1", "name": "Weighted F1", "value": test["f1_weighted"], "args": {"average": "weighted"}},
        {"type": "precision", "name": "Weighted precision", "value": test["precision_weighted"]},
        {"type": "recall", "name": "Weighted recall", "value": test["recall_weighted"]},
        {"type": "f1", "name": "Macro F1", "value": test["f1_macro"], "args": {"average": "macro"}},
        *({"type": "f1", "name": f"F1 ({name})", "value": test["per_class"][name]["f1"]} for name in LABELS),
    ]
    metadata: dict[str, Any] = {
        "language": ["en"],
        "license": "mit",
        "library_name": "transformers",
        "pipeline_tag": "text-classification",
        "tags": ["hate-speech", "offensive-language", "bert", "dvc"],
        "datasets": [DATASET_ID],
        "metrics": ["accuracy", "f1", "precision", "recall"],
    }
    if not checkpoint.startswith(("package:", "/", ".", "~")) and not Path(checkpoint).exists():
        metadata["base_model"] = checkpoint  # a Hub id; a local or packaged encoder has none to link
    metadata["model-index"] = [
        {
            "name": "hate-speech-classifier",
            "results": [
                {
                    "task": {"type": "text-classification", "name": "Text classification"},
                    "dataset": {"type": DATASET_ID, "name": "hate_speech_offensive (test split of this pipeline)"},
                    "metrics": metrics,
                }
            ],
        }
    ]
    return metadata


def _interval(block: Mapping[str, Any], key: str) -> str:
    bounds = (block.get("ci95") or {}).get(key)
    return f"{bounds['low']:.3f}–{bounds['high']:.3f}" if bounds else "—"


def _results_table(test: Mapping[str, Any], baseline: Mapping[str, Any]) -> list[str]:
    rows = [("accuracy", "accuracy"), ("weighted F1", "f1_weighted"), ("macro F1", "f1_macro")]
    rows += [(f"F1 {name}", f"f1_{name}") for name in LABELS]

    def value(block: Mapping[str, Any], key: str) -> float:
        if key.startswith("f1_") and key[3:] in LABELS:
            return float(block["per_class"][key[3:]]["f1"])
        return float(block[key])

    lines = [
        "| metric | this model | 95% interval | TF-IDF + logistic regression baseline | 95% interval |",
        "|---|---:|---|---:|---|",
    ]
    for label, key in rows:
        lines.append(
            f"| {label} | {value(test, key):.4f} | {_interval(test, key)} | "
            f"{value(baseline, key):.4f} | {_interval(baseline, key)} |"
        )
    return lines


def _per_class_table(test: Mapping[str, Any]) -> list[str]:
    lines = ["| class | support | precision | recall | F1 |", "|---|---:|---:|---:|---:|"]
    for name in LABELS:
        scores = test["per_class"][name]
        cells = [str(scores["support"]), *(f"{scores[key]:.4f}" for key in ("precision", "recall", "f1"))]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return lines


def _comparison_lines(comparison: Mapping[str, Any]) -> list[str]:
    argmax = comparison["argmax"]
    lines = []
    for key, label in (("f1_macro", "macro F1"), ("f1_hate_speech", "hate-speech F1"), ("accuracy", "accuracy")):
        entry = argmax[key]
        verdict = "a real difference" if entry["p_value"] < 0.05 else "not distinguishable from luck"
        lines.append(
            f"- {label}: {entry['difference']:+.4f} (95% interval {entry['low']:+.4f} to {entry['high']:+.4f}, "
            f"paired bootstrap p = {entry['p_value']:.3g}): {verdict} at the 5% level."
        )
    test = argmax["mcnemar"]
    lines.append(
        f"- McNemar's test: {test['transformer_only_correct']} test tweets only this model gets right, "
        f"{test['baseline_only_correct']} only the baseline; p = {test['p_value']:.3g}."
    )
    return lines


def _rate(block: Mapping[str, Any], key: str) -> str:
    """A rate or ratio of metrics/audit.json with its interval, or why there is none."""
    value, bounds = block.get(key), (block.get("ci95") or {}).get(key)
    if value is None or not bounds:
        return "not measured (too few tweets)"
    high = "∞" if bounds["high"] is None else f"{bounds['high']:.2f}"
    return f"{value:.2f} (95% interval {bounds['low']:.2f}–{high})"


def _dialect_lines(audit: Mapping[str, Any]) -> list[str]:
    """The limitations bullet on dialect bias, with this model's own audit (metrics/audit.json, test split)."""
    model, tweets = audit["transformer"], audit["tweets"]
    aae, white, ratio = model["aae"], model["white"], model["aae_vs_white"]
    neither = "false_flag_neither"
    return [
        "- **Dialect bias**: Davidson et al. (2017) themselves, and later Davidson, Bhattacharya & Weber (2019) and "
        "Sap et al. (2019), found that models trained on this data flag tweets written in African-American "
        "English (AAE) as offensive or hateful more often than other tweets. This model's own audit (the `audit` "
        f"stage, metrics/audit.json; TwitterAAE dialect groups at proportion ≥ {audit['group_threshold']:g}: "
        f"{tweets['aae']:,} AAE-aligned and {tweets['white']:,} white-aligned of the {tweets['all']:,} test tweets): "
        f"of the tweets whose gold label is `neither`, it flags {_rate(aae, neither)} of the AAE-aligned "
        f"({aae['support'][neither]} tweets) and {_rate(white, neither)} of the white-aligned "
        f"({white['support'][neither]}), a ratio of {_rate(ratio, neither)}; Sap et al.'s offensive "
        f"false-positive rate (called offensive, gold not offensive) is {_rate(aae, 'fpr_offensive')} for "
        f"AAE-aligned tweets and {_rate(white, 'fpr_offensive')} for white-aligned ones. Dialect proportion is a "
        "property of the words, not of the author; docs/bias-audit.md explains the measures, their caveats and "
        "the cross-validated figures over every tweet.",
    ]


def _mitigation_lines(fairness: Mapping[str, Any], comparison: Mapping[str, Any] | None) -> list[str]:
    """The limitations bullet on what training does about the dialect gap: this model's ``fairness`` setting and,
    where the out-of-fold comparison (docs/results/fairness/comparison.json) measured it, its before and after."""
    method = fairness.get("method", "none")
    setting = (
        "no dialect mitigation"
        if method == "none"
        else f"`fairness.method: {method}` (strength {fairness['strength']:g})"
    )
    line = f"- **What training does about it**: this model trains with {setting}."
    if not comparison:
        return [line + " It was not compared out of fold (docs/bias-audit.md)."]
    runs, settings = comparison["runs"], comparison.get("settings", {})
    reference = comparison["reference"]
    mine = [name for name, run in settings.items() if _same_fairness(run.get("fairness", {}), fairness)]
    if not mine:
        return [line + " That setting was not among the runs compared out of fold (docs/bias-audit.md)."]
    before, after = runs[reference], runs[mine[0]]

    def figure(run: Mapping[str, Any], key: str) -> str:
        block = run[key]
        return f"{block['value']:.2f} ({block['low']:.2f}–{block['high']:.2f})"

    if mine[0] == reference:
        others = [name for name in runs if name != reference]
        return [
            line + f" Out of fold ({comparison['rows']:,} tweets, each predicted once; docs/bias-audit.md) it flags "
            f"gold-`neither` AAE-aligned tweets {figure(before, 'false_flag_neither_ratio')} times as often as "
            f"white-aligned ones; the mitigations measured ({', '.join(others) or 'none'}) did not qualify as the "
            "default."
        ]
    change = after["f1_macro"]["change"]
    return [
        line + f" Out of fold ({comparison['rows']:,} tweets, each predicted once; docs/bias-audit.md), against the "
        "same recipe without it: gold-`neither` false-flag ratio AAE/white "
        f"{figure(before, 'false_flag_neither_ratio')} → {figure(after, 'false_flag_neither_ratio')}; offensive "
        "false-positive rate of AAE-aligned tweets "
        f"{figure(before, 'fpr_offensive_aae')} → {figure(after, 'fpr_offensive_aae')}; macro F1 "
        f"{before['f1_macro']['value']:.4f} → {after['f1_macro']['value']:.4f} (paired p = {change['p_value']:.2g}); "
        f"hate F1 {before['f1_hate_speech']['value']:.4f} → {after['f1_hate_speech']['value']:.4f}."
    ]


def _same_fairness(measured: Mapping[str, Any], current: Mapping[str, Any]) -> bool:
    if measured.get("method", "none") == current.get("method", "none") == "none":
        return True
    return all(measured.get(key) == current.get(key) for key in ("method", "strength", "group_threshold"))


def _functional_lines(functional: Mapping[str, Any]) -> list[str]:
    """The card's section on the functional suite and disguised words (metrics/functional.json, this model)."""
    model, suite = functional["transformer"], functional["suite"]

    def share(block: Mapping[str, Any]) -> str:
        bounds = block["ci95"]
        return f"{block['accuracy']:.1%} (95% interval {bounds['low']:.1%}–{bounds['high']:.1%})"

    lines = [
        f"The `functional` stage scores the model on the project's own functional suite (data/functional/suite.yaml: "
        f"{suite['cases']} generated cases in {suite['functionalities']} functionalities, docs/functional.md), "
        "written for this project and disjoint from the template sentences added to its training data.",
        "",
        f"- All cases: {share(model['overall'])}; hateful cases {share(model['hateful'])}; non-hateful cases "
        f"{share(model['non_hateful'])}.",
        "- Weakest functionalities:",
        *(
            f"  - {model['functionalities'][name].get('description') or name} (`{name}`): {accuracy:.0%} right"
            for name, accuracy in model["weakest"].items()
        ),
    ]
    disguised = model.get("disguised_tweets") or {}
    if disguised.get("kinds"):
        rates = ", ".join(
            f"{kind} {entry['flag_rate']:.0%}"
            for kind, entry in disguised["kinds"].items()
            if entry["flag_rate"] is not None
        )
        lines.append(
            f"- Real toxic test tweets it flags, with their offensive words disguised ({disguised['toxic_tweets']} "
            f"tweets): still flagged {rates}."
        )
    return lines


def _confusions(errors: list[dict[str, Any]]) -> Counter:
    return Counter((e["label"], e["predicted"]) for e in errors)


def read_errors(report_dir: Path) -> list[dict[str, Any]]:
    """The evaluate stage's misclassified test tweets (reports/transformer/misclassified_test.jsonl)."""
    path = report_dir / "misclassified_test.jsonl"
    if not path.is_file():
        raise PipelineError(f"{path} not found: the model card needs the evaluate stage's error analysis")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


TEMPLATE = Path(__file__).with_name("card.md")  # the card's text; ${name} marks what a run fills in


def model_card(
    training: Mapping[str, Any],
    rule: Mapping[str, Any],
    test: Mapping[str, Any],
    baseline: Mapping[str, Any],
    comparison: Mapping[str, Any],
    errors: list[dict[str, Any]],
    audit: Mapping[str, Any],
    functional: Mapping[str, Any],
    calibration: Mapping[str, Any],
    policy: Mapping[str, Any],
    fairness: Mapping[str, Any] | None = None,
    fairness_comparison: Mapping[str, Any] | None = None,
) -> str:
    """The card's Markdown (YAML metadata block first): the template ``card.md`` filled from this run's files;
    ``audit`` is the audit stage's metrics/audit.json, ``functional`` the functional stage's metrics/functional.json,
    ``calibration`` and ``policy`` the calibrate and policy stages' metrics, ``fairness`` params.yaml's section of
    that name and ``fairness_comparison`` the out-of-fold comparison of mitigations (cv_compare), if any."""
    checkpoint = str(training.get("checkpoint", "unknown"))
    train = training.get("params", {}).get("train", {})
    hate = test["per_class"]["hate_speech"]
    values = {
        "metadata": yaml.safe_dump(card_metadata(test, checkpoint), sort_keys=False, allow_unicode=True).rstrip(),
        "checkpoint": checkpoint,
        "dataset": DATASET_ID,
        "data_sha256": training.get("data_sha256", "unknown"),
        "settings": _training_settings(train),
        "seed": training.get("seed", "unknown"),
        "best_metric": train.get("metric_for_best_model", "f1_macro"),
        "examples": test["examples"],
        "results_table": "\n".join(_results_table(test, baseline)),
        "per_class_table": "\n".join(_per_class_table(test)),
        "comparison": "\n".join(_comparison_lines(comparison)),
        "functional": "\n".join(_functional_lines(functional)),
        **_rule_values(rule),
        "hate_support": hate["support"],
        "hate_f1": f"{hate['f1']:.2f}",
        "hate_f1_interval": _interval(test, "f1_hate_speech"),
        **_error_counts(errors),
        "dialect": "\n".join([*_dialect_lines(audit), *_mitigation_lines(fairness or {}, fairness_comparison)]),
        "calibration": _calibration_line(calibration),
        "policies": "\n".join(_policy_table(policy)),
        "flag_confidence": f"{100 * policy['flag_confidence']:g}%",
    }
    return string.Template(TEMPLATE.read_text(encoding="utf-8")).substitute(values)


def _calibration_line(calibration: Mapping[str, Any]) -> str:
    test = calibration["test"]
    before, after = test["uncalibrated"], test["calibrated"]
    classes = ", ".join(f"{name.replace('_', ' ')} {after[f'ece_{name}']['value']:.3f}" for name in LABELS)
    low, high = after["ece"]["ci95"]["low"], after["ece"]["ci95"]["high"]
    return (
        f"The scores are calibrated ({calibration['method']} scaling, fitted on the validation split). On the "
        f"{test['examples']} test tweets the expected calibration error (top label, {test['bins']} bins) is "
        f"{after['ece']['value']:.3f} (95% interval {low:.3f}–{high:.3f}; uncalibrated {before['ece']['value']:.3f}), "
        f"per class {classes}; the negative log-likelihood {before['nll']['value']:.3f} → {after['nll']['value']:.3f}."
    )


def _share(figure: Mapping[str, Any]) -> str:
    value, ci = figure["value"], figure["ci95"]
    if value is None:
        return "none"
    return f"{100 * value:.1f}% ({100 * ci['low']:.1f}–{100 * ci['high']:.1f})"


def _policy_table(policy: Mapping[str, Any]) -> list[str]:
    """One row per policy: its test figures with 95% intervals."""
    rows = [
        "| policy | flagged | sent to review | allowed | flags' precision | hate speech flagged automatically "
        "| hate speech caught (flag + review) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, block in policy["policies"].items():
        test = block["test"]
        default = " (default)" if name == policy.get("default") else ""
        rows.append(
            f"| `{name}`{default} | {_share(test['share_flag'])} | {_share(test['share_review'])} | "
            f"{_share(test['share_allow'])} | {_share(test['flag_precision'])} | "
            f"{_share(test['flag_recall_hate_speech'])} | {_share(test['catch_rate_hate_speech'])} |"
        )
    return rows


def _training_settings(train: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{key} {train[key]:g}" if isinstance(train[key], float) else f"{key} {train[key]}"
        for key in ("epochs", "batch_size", "learning_rate", "weight_decay", "warmup_steps", "class_weights")
        if key in train
    )


def _rule_values(rule: Mapping[str, Any]) -> dict[str, str]:
    offsets = ", ".join(f"{name} {value:+.1f}" for name, value in rule.get("offsets", {}).items())
    before, after = rule.get("before"), rule.get("after")
    return {
        "rule_kind": rule.get("kind", "argmax"),
        "offsets": offsets or "none",
        "rule_objective": rule.get("objective", "f1_macro"),
        "rule_gain": f" ({before:.4f} → {after:.4f} on validation)."
        if before is not None and after is not None
        else ".",
    }


def _error_counts(errors: list[dict[str, Any]]) -> dict[str, int]:
    confusions = _confusions(errors)
    return {
        "hate_missed": sum(count for (actual, _), count in confusions.items() if actual == "hate_speech"),
        "hate_as_offensive": confusions.get(("hate_speech", "offensive_language"), 0),
        "flagged_wrongly": sum(
            count for (actual, predicted), count in confusions.items() if actual == "neither" and predicted != "neither"
        ),
    }


def read_training(model_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The trained model directory's training metadata and decision rule."""
    metadata = read_json(model_dir / METADATA_FILE, "the model card needs the training metadata")
    return metadata, read_json(model_dir / RULE_FILE, "the model card needs the decision rule")
