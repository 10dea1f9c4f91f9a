"""Ensemble stage: a weighted average of the transformer's and the baseline's class probabilities. The weight
(and then the decision rule) is chosen on the validation split; the test split is scored once, into outputs
of the same shape as the two models' (metrics with intervals, plot data, predictions, error analysis)."""

import argparse
import logging

from hatespeech import LABEL
from hatespeech.cli import run_stage
from hatespeech.config import load_params
from hatespeech.data.splitting import read_splits
from hatespeech.evaluation.evaluate import EvaluationOutputs, write_evaluation
from hatespeech.evaluation.predictions import class_probabilities, select_predictions
from hatespeech.evaluation.stats import Bootstrap
from hatespeech.io import read_table, write_json
from hatespeech.model.decision import RuleConfig, fit_decision_rule
from hatespeech.model.ensemble import EnsembleConfig, check_rows, choose_weight, combine

log = logging.getLogger("hatespeech")
SPLITS = ("test", "validation")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transformer", required=True, help="the transformer's predictions (parquet)")
    parser.add_argument("--baseline", required=True, help="the baseline's predictions (parquet)")
    parser.add_argument("--splits", required=True, help="split parquet files (for the tweet texts)")
    parser.add_argument("--choice", required=True, help="the weight chosen and every weight's validation score")
    EvaluationOutputs.add_arguments(parser)
    args = parser.parse_args()
    params = load_params()
    config, rule_config = EnsembleConfig.of(params), RuleConfig.of(params)

    texts = read_splits(args.splits)
    paths = {"transformer": args.transformer, "baseline": args.baseline}
    tables = {name: read_table(path) for name, path in paths.items()}  # each file read once, both splits from it
    probabilities, labels = {}, {}
    for split in SPLITS:
        members = {name: select_predictions(tables[name], path, split) for name, path in paths.items()}
        for name, table in members.items():
            check_rows(table, texts[split], f"{name} predictions ({split})")
        labels[split] = texts[split][LABEL].to_numpy()
        probabilities[split] = {name: class_probabilities(table) for name, table in members.items()}

    val = probabilities["validation"]
    choice = choose_weight(labels["validation"], val["transformer"], val["baseline"], config)
    weight = choice.transformer_weight
    log.info(
        "transformer weight %.2f: validation macro F1 %.4f (transformer alone %.4f, baseline alone %.4f)",
        weight,
        choice.validation_f1_macro[weight],
        choice.validation_f1_macro[1.0],
        choice.validation_f1_macro[0.0],
    )
    combined = {split: combine(p["transformer"], p["baseline"], weight) for split, p in probabilities.items()}
    rule = fit_decision_rule(combined["validation"], labels["validation"], rule_config)
    write_json(args.choice, choice.to_json())
    metrics = write_evaluation(
        f"ensemble (transformer weight {weight:.2f}, baseline {1 - weight:.2f})",
        labels,
        combined,
        rule,
        texts,
        EvaluationOutputs.from_args(args),
        Bootstrap.from_params(params),
    )
    log.info("ensemble test macro F1 %.4f (tuned %.4f)", metrics["f1_macro"], metrics["tuned"]["f1_macro"])


if __name__ == "__main__":
    run_stage("ensemble", main)
