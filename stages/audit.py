"""audit: the dialect bias audit. How often the transformer, the baseline and the ensemble flag tweets in
African-American-aligned English against white-aligned English on the test split (TwitterAAE dialect groups),
overall and at the same gold label, each rate and the AAE/white ratio with a 95% bootstrap interval; a plot of
the rates; and one mitigation measured (a group offset fitted on validation), never applied to served predictions.
"""

import argparse
import logging
from pathlib import Path

import pandas as pd

from hatespeech.cli import run_stage
from hatespeech.config import load_params
from hatespeech.data.dialect import DialectModel, dialect_groups
from hatespeech.data.splitting import read_splits
from hatespeech.evaluation.audit import (
    AuditConfig,
    MitigationSplit,
    dialect_audit,
    headline,
    mitigation_report,
    plot_records,
)
from hatespeech.evaluation.predictions import select_predictions
from hatespeech.evaluation.stats import Bootstrap
from hatespeech.io import atomic_output, read_table, write_json
from hatespeech.model.decision import DecisionRule, RuleConfig
from hatespeech.model.ensemble import check_rows

log = logging.getLogger("hatespeech")
MODELS = ("transformer", "baseline", "ensemble")
PLOT_FILE = "rates.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--splits", required=True, help="split parquet files (for the tweet texts)")
    parser.add_argument("--dialect-model", required=True, help="the TwitterAAE model directory")
    for model in MODELS:
        parser.add_argument(f"--{model}", required=True, help=f"the {model}'s predictions (parquet)")
    parser.add_argument("--model-dir", required=True, help="the transformer's model directory (its decision rule)")
    parser.add_argument("--out", required=True, help="the audit (JSON metrics)")
    parser.add_argument("--plots-dir", required=True, type=Path, help="the rates by model and group (plot data)")
    args = parser.parse_args()
    params = load_params()
    config, bootstrap = AuditConfig.of(params), Bootstrap.from_params(params)

    texts = read_splits(args.splits)
    dialects = DialectModel.load(args.dialect_model)
    proportions = {split: dialects.proportions(texts[split]["text"].tolist()) for split in ("test", "validation")}
    tables = {model: read_table(getattr(args, model)) for model in MODELS}
    predictions: dict[str, dict[str, pd.DataFrame]] = {split: {} for split in proportions}
    for split in proportions:
        for model, table in tables.items():
            predictions[split][model] = select_predictions(table, getattr(args, model), split)
            check_rows(predictions[split][model], texts[split], f"{model} predictions ({split})")

    audit = {"split": "test", **dialect_audit(predictions["test"], proportions["test"], config, bootstrap)}
    mitigation = MitigationSplit(
        predictions["validation"]["transformer"],
        dialect_groups(proportions["validation"], config.group_threshold),
        predictions["test"]["transformer"],
        dialect_groups(proportions["test"], config.group_threshold),
        DecisionRule.load(args.model_dir),
    )
    audit["mitigation"] = {
        "model": "transformer",
        **mitigation_report(mitigation, RuleConfig.of(params), config, bootstrap),
    }
    write_json(args.out, audit)
    with atomic_output(args.plots_dir, directory=True) as plots:
        write_json(plots / PLOT_FILE, plot_records(audit, list(MODELS)))
    for model in MODELS:
        log.info("%s", headline(audit, model))


if __name__ == "__main__":
    run_stage("audit", main)
