"""Compare stage: is the transformer better than the baseline, or is the difference luck? A paired bootstrap
(the same resampled test rows for both) gives each metric's difference a 95% interval and a p-value; McNemar's
exact test looks at the tweets exactly one of the two gets right. Differences are transformer minus baseline."""

import argparse
import logging

from hatespeech.cli import run_stage
from hatespeech.config import load_params
from hatespeech.evaluation.predictions import compare_predictions, read_predictions
from hatespeech.evaluation.stats import Bootstrap
from hatespeech.io import write_json

log = logging.getLogger("hatespeech")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference", required=True, help="the baseline's predictions (parquet)")
    parser.add_argument("--candidate", required=True, help="the transformer's predictions (parquet)")
    parser.add_argument("--out", required=True, help="comparison metrics (JSON)")
    args = parser.parse_args()
    params = load_params()
    bootstrap = Bootstrap.from_params(params)

    comparison = compare_predictions(
        read_predictions(args.reference), read_predictions(args.candidate), bootstrap, ("baseline", "transformer")
    )
    write_json(args.out, comparison)
    macro = comparison["argmax"]["f1_macro"]
    log.info(
        "transformer - baseline, test macro F1: %+.4f (95%% interval %+.4f to %+.4f, p = %.3g)",
        macro["difference"],
        macro["low"],
        macro["high"],
        macro["p_value"],
    )


if __name__ == "__main__":
    run_stage("compare", main)
