"""Policy stage: each moderation policy of params.yaml (target precision of automatic flags, target recall of
flags + review, per class) turned into thresholds on the calibrated probabilities of the validation split, for
the model directory; and what each does on test, with intervals: the shares allowed / reviewed / flagged, the
flags' precision and the share of each class caught; an out-of-fold check on validation; the trade-off curves."""

import argparse
import logging
from pathlib import Path

from hatespeech.cli import run_stage
from hatespeech.config import load_params
from hatespeech.evaluation.policy import policy_metrics, tradeoff_records
from hatespeech.evaluation.predictions import class_probabilities, select_predictions
from hatespeech.evaluation.stats import Bootstrap
from hatespeech.io import read_table, write_json
from hatespeech.model.calibration import CalibrateConfig, Calibration
from hatespeech.model.policy import PolicyConfig, fit_policies

log = logging.getLogger("hatespeech")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--predictions", required=True, help="the evaluate stage's predictions (parquet)")
    parser.add_argument("--calibration", required=True, type=Path, help="the calibrate stage's map (JSON)")
    parser.add_argument("--out", required=True, type=Path, help="the policies' thresholds (JSON), for the model")
    parser.add_argument("--metrics", required=True, type=Path, help="policy metrics (JSON)")
    parser.add_argument("--plots-dir", required=True, type=Path, help="trade-off curves")
    args = parser.parse_args()
    params = load_params()
    config, bootstrap = PolicyConfig.of(params), Bootstrap.from_params(params)
    calibration = Calibration.load(args.calibration, missing_ok=False)

    splits, table = {}, read_table(args.predictions)
    for split in ("validation", "test"):
        rows = select_predictions(table, args.predictions, split)
        raw = class_probabilities(rows)
        splits[split] = (raw, calibration.apply(raw), rows["label"].to_numpy())
    policies = fit_policies(config, *splits["validation"][1:])
    metrics = policy_metrics(policies, config, CalibrateConfig.of(params), splits, bootstrap)
    write_json(args.metrics, metrics)
    for label in ("hate_speech", "offensive_language"):
        write_json(args.plots_dir / f"tradeoff_{label}.json", tradeoff_records(*splits["validation"][1:], label))
    policies.save(args.out)
    for name, block in metrics["policies"].items():
        test = block["test"]
        precision = test["flag_precision"]["value"]
        log.info(
            "policy %s on test: %.1f%% flagged (precision %s), %.1f%% to review, %.1f%% of hate speech caught",
            name,
            100 * test["share_flag"]["value"],
            "-" if precision is None else f"{precision:.3f}",
            100 * test["share_review"]["value"],
            100 * (test["catch_rate_hate_speech"]["value"] or 0),
        )


if __name__ == "__main__":
    run_stage("policy", main)
