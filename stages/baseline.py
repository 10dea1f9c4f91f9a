"""Baseline stage: TF-IDF word + character n-grams and logistic regression, trained on the same train split,
its decision rule fitted on the same validation split, evaluated on the same test split as the transformer,
with outputs of the same shape (metrics with intervals, plot data, predictions, error analysis)."""

import argparse
import logging

from hatespeech import LABEL, TEXT
from hatespeech.cli import run_stage
from hatespeech.config import BaseConfig, load_params
from hatespeech.data.splitting import read_splits
from hatespeech.data.text import Normalizer
from hatespeech.evaluation.evaluate import EvaluationOutputs, write_evaluation
from hatespeech.evaluation.stats import Bootstrap
from hatespeech.io import atomic_output
from hatespeech.model.baseline import BaselineConfig, predict_proba, save_baseline, train_baseline
from hatespeech.model.decision import RuleConfig, fit_decision_rule

log = logging.getLogger("hatespeech")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--splits", required=True, help="split parquet files from the split stage")
    parser.add_argument("--spelling", required=True, help="the augment stage's spelling word lists (JSON)")
    parser.add_argument("--model-dir", required=True, help="where the fitted baseline (skops) and its rule go")
    EvaluationOutputs.add_arguments(parser)
    args = parser.parse_args()
    params = load_params()
    config, rule_config = BaselineConfig.of(params), RuleConfig.of(params)
    seed = BaseConfig.of(params).seed
    bootstrap = Bootstrap.from_params(params)

    splits = read_splits(args.splits)
    normalizer = Normalizer.of(params).with_words(args.spelling)
    model = train_baseline(splits["train"], config, seed=seed, normalizer=normalizer)
    labels = {name: splits[name][LABEL].to_numpy() for name in ("test", "validation")}
    probabilities = {name: predict_proba(model, splits[name][TEXT], normalizer) for name in ("test", "validation")}
    rule = fit_decision_rule(probabilities["validation"], labels["validation"], rule_config)
    log.info("decision rule (%s) on validation macro F1: %.4f -> %.4f", rule.kind, rule.before, rule.after)
    with atomic_output(args.model_dir, directory=True) as model_tmp:
        save_baseline(model, model_tmp)
        rule.save(model_tmp)
        normalizer.save(model_tmp)
    metrics = write_evaluation(
        "TF-IDF + logistic regression baseline",
        labels,
        probabilities,
        rule,
        splits,
        EvaluationOutputs.from_args(args),
        bootstrap,
    )
    log.info("baseline test macro F1 %.4f (tuned %.4f)", metrics["f1_macro"], metrics["tuned"]["f1_macro"])


if __name__ == "__main__":
    run_stage("baseline", main)
