"""Calibrate stage: a map of the transformer's probabilities fitted on the validation split (temperature, or a
weight and bias per class where that measurably helps), saved for the model directory, and the calibration
metrics on test before and after, with intervals: ECE (top-label and per class), Brier, NLL and the gap to the
annotators' vote shares; plus the reliability diagram's points."""

import argparse
import logging
from pathlib import Path

from hatespeech.cli import run_stage
from hatespeech.config import load_params
from hatespeech.data.sources import vote_shares
from hatespeech.data.splitting import read_splits
from hatespeech.evaluation.calibration import calibration_report, reliability_records
from hatespeech.evaluation.predictions import aligned_split, class_probabilities, select_predictions
from hatespeech.evaluation.stats import Bootstrap
from hatespeech.io import read_table, write_json
from hatespeech.model.calibration import CalibrateConfig, fit_calibration

log = logging.getLogger("hatespeech")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--predictions", required=True, help="the evaluate stage's predictions (parquet)")
    parser.add_argument("--splits", required=True, help="split parquet files (for the annotators' votes)")
    parser.add_argument("--out", required=True, type=Path, help="the calibration map (JSON), for the model directory")
    parser.add_argument("--metrics", required=True, type=Path, help="calibration metrics (JSON)")
    parser.add_argument("--plots-dir", required=True, type=Path, help="reliability diagram points")
    args = parser.parse_args()
    params = load_params()
    config, bootstrap = CalibrateConfig.of(params), Bootstrap.from_params(params)

    table = read_table(args.predictions)
    validation, test = (select_predictions(table, args.predictions, split) for split in ("validation", "test"))
    votes = vote_shares(aligned_split(test, read_splits(args.splits)["test"]))
    calibration = fit_calibration(
        class_probabilities(validation), validation["label"].to_numpy(), config, bootstrap.seed
    )
    raw, labels = class_probabilities(test), test["label"].to_numpy()
    report = calibration_report(raw, labels, votes, calibration, config.bins, bootstrap)
    write_json(args.metrics, {"method": calibration.kind, "fitted_on": "validation", "test": report})
    perfect = [{"model": "perfect", "confidence": x, "accuracy": x} for x in (0.0, 1.0)]
    write_json(args.plots_dir / "reliability_perfect.json", perfect)
    for name, probabilities in (("uncalibrated", raw), ("calibrated", calibration.apply(raw))):
        write_json(
            args.plots_dir / f"reliability_{name}.json", reliability_records(probabilities, labels, config.bins, name)
        )
    calibration.save(args.out)
    before, after = report["uncalibrated"], report["calibrated"]
    log.info(
        "%s calibration; test ECE %.4f -> %.4f, NLL %.4f -> %.4f",
        calibration.kind,
        before["ece"]["value"],
        after["ece"]["value"],
        before["nll"]["value"],
        after["nll"]["value"],
    )


if __name__ == "__main__":
    run_stage("calibrate", main)
