"""Card stage: the published model directory, models/model = the trained model, its calibration and moderation
policies, and its model card (README.md, Hugging Face format) written from this run's training metadata, test
metrics, baseline comparison, error analysis, dialect bias audit (with the training-time mitigation's out-of-fold
figures, docs/results/fairness/comparison.json), calibration and policy metrics. A separate directory from the
train stage's, because the card needs the test results."""

import argparse
import shutil
from pathlib import Path

from hatespeech.cli import run_stage
from hatespeech.config import load_params
from hatespeech.evaluation.card import model_card, read_errors, read_training
from hatespeech.io import atomic_output, read_json
from hatespeech.model.calibration import Calibration
from hatespeech.model.policy import Policies
from hatespeech.paths import CALIBRATION_FILE, CARD_FILE, POLICY_FILE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trained", required=True, type=Path, help="the train stage's model directory")
    parser.add_argument("--test-metrics", required=True, type=Path)
    parser.add_argument("--baseline-metrics", required=True, type=Path)
    parser.add_argument("--comparison", required=True, type=Path, help="the compare stage's paired tests")
    parser.add_argument("--report-dir", required=True, type=Path, help="the evaluate stage's error analysis")
    parser.add_argument("--audit", required=True, type=Path, help="the audit stage's dialect bias metrics")
    parser.add_argument("--functional", required=True, type=Path, help="the functional stage's suite metrics")
    parser.add_argument("--calibration", required=True, type=Path, help="the calibrate stage's map")
    parser.add_argument("--policies", required=True, type=Path, help="the policy stage's thresholds")
    parser.add_argument("--calibration-metrics", required=True, type=Path)
    parser.add_argument("--policy-metrics", required=True, type=Path)
    parser.add_argument(
        "--fairness-comparison", type=Path, help="the out-of-fold comparison of dialect mitigations (cv_compare)"
    )
    parser.add_argument("--out", required=True, type=Path, help="the published model directory")
    args = parser.parse_args()

    training, rule = read_training(args.trained)
    card = model_card(
        training,
        rule,
        read_json(args.test_metrics, "the model card needs the test metrics"),
        read_json(args.baseline_metrics, "the model card needs the baseline's test metrics"),
        read_json(args.comparison, "the model card needs the transformer-vs-baseline comparison"),
        read_errors(args.report_dir),
        read_json(args.audit, "the model card needs the dialect bias audit"),
        read_json(args.functional, "the model card needs the functional suite's metrics"),
        read_json(args.calibration_metrics, "the model card needs the calibration metrics"),
        read_json(args.policy_metrics, "the model card needs the policy metrics"),
        load_params().get("fairness") or {},
        read_json(args.fairness_comparison, "the dialect mitigations' comparison")
        if args.fairness_comparison
        else None,
    )
    calibration = Calibration.load(args.calibration, missing_ok=False)
    policies = Policies.load(args.policies, missing_ok=False)
    with atomic_output(args.out, directory=True) as published:
        shutil.copytree(args.trained, published, dirs_exist_ok=True)
        calibration.save(published / CALIBRATION_FILE)
        policies.save(published / POLICY_FILE)
        (published / CARD_FILE).write_text(card, encoding="utf-8")


if __name__ == "__main__":
    run_stage("card", main)
