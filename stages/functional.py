"""functional: the transformer and the baseline on the functional suite (data/functional/suite.yaml: accuracy per
functionality, per target group, hateful and non-hateful cases, macro) and on real test tweets with their offensive
words disguised (flag rate per disguise kind, and the false flags a disguise causes on `neither` tweets)."""

import argparse
import logging

from hatespeech.cli import run_stage
from hatespeech.config import BaseConfig, load_params
from hatespeech.data.functional import generate_cases, load_templates
from hatespeech.data.splitting import read_splits
from hatespeech.evaluation.functional import (
    FunctionalConfig,
    disguise_report,
    sample_cases,
    scored_once,
    suite_report,
    weakest,
)
from hatespeech.evaluation.stats import Bootstrap
from hatespeech.io import atomic_output, read_json, write_json, write_table
from hatespeech.model.baseline import baseline_labels
from hatespeech.model.inference import Classifier

log = logging.getLogger("hatespeech")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--suite", required=True, help="the functional suite (YAML)")
    parser.add_argument("--groups", required=True, help="the target groups (YAML)")
    parser.add_argument("--model-dir", required=True, help="the trained transformer")
    parser.add_argument("--baseline-dir", required=True, help="the fitted baseline")
    parser.add_argument("--splits", required=True, help="split parquet files (the test tweets to disguise)")
    parser.add_argument("--lexicon", required=True, help="JSON list of the offensive words the augment stage found")
    parser.add_argument("--out", required=True, help="functional metrics (JSON)")
    parser.add_argument("--cases", required=True, help="every case with each model's label (parquet)")
    args = parser.parse_args()
    params = load_params()
    config, bootstrap, seed = FunctionalConfig.of(params), Bootstrap.from_params(params), BaseConfig.of(params).seed

    suite = load_templates(args.suite, args.groups)
    cases = sample_cases(generate_cases(suite), config.max_cases_per_functionality, seed)
    descriptions = {f.name: f.description for f in suite.functionalities}
    test = read_splits(args.splits)["test"]
    lexicon = read_json(args.lexicon, "the augment stage's lexicon")
    classifier = Classifier(args.model_dir, backend="torch")
    scorers = {
        "transformer": scored_once(
            lambda texts: [r["label"] for r in classifier.predict(list(texts))], classifier.normalizer.apply
        ),
        "baseline": baseline_labels(args.baseline_dir),
    }
    metrics = {"suite": {"cases": len(cases), "functionalities": int(cases["functionality"].nunique())}}
    for name, score in scorers.items():
        predicted = score(cases["text"].tolist())
        cases[name] = predicted
        report = suite_report(cases, predicted, bootstrap, descriptions)
        report["disguised_tweets"] = disguise_report(test, lexicon, score, config, seed)
        report["weakest"] = {f: a for f, a in weakest(report, config.weakest)}
        metrics[name] = report
        log.info(
            "%s: suite accuracy %.3f (hateful %.3f, non-hateful %.3f); weakest %s; disguised tweets flagged >= %s",
            name,
            report["overall"]["accuracy"],
            report["hateful"]["accuracy"],
            report["non_hateful"]["accuracy"],
            ", ".join(f"{f} {a:.2f}" for f, a in report["weakest"].items()),
            report["disguised_tweets"].get("lowest_flag_rate"),
        )
    with atomic_output(args.cases) as tmp:
        write_table(cases, tmp)
    write_json(args.out, metrics)


if __name__ == "__main__":
    run_stage("functional", main)
