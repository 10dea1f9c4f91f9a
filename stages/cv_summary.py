"""Cross-validation, summary: each model's test metrics over the k folds, as mean ± standard deviation and
per fold (argmax predictions, like the main pipeline's headline figures)."""

import argparse
from pathlib import Path

from hatespeech.cli import run_stage
from hatespeech.config import load_params
from hatespeech.evaluation.crossval import fold_ids, read_fold_metrics, summarize
from hatespeech.io import write_json

MODELS = ("transformer", "baseline")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", required=True, help="results/fold<i>/<model>/test.json of every fold")
    parser.add_argument("--out", required=True, help="the summary (JSON)")
    args = parser.parse_args()
    folds = fold_ids(load_params())
    summary: dict[str, object] = {"folds": len(folds)}
    summary.update({model: summarize(read_fold_metrics(Path(args.results), model, folds)) for model in MODELS})
    write_json(args.out, summary)


if __name__ == "__main__":
    run_stage("cv_summary", main)
