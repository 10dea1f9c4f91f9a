"""Cross-validation, summary: each model's test metrics over the k folds, as mean ± standard deviation and
per fold (argmax predictions, like the main pipeline's headline figures); and the dialect bias audit over every
tweet of the data, each scored once out of fold (five times the test split's tweets behind each rate)."""

import argparse
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from hatespeech.cli import run_stage
from hatespeech.config import load_params
from hatespeech.data.dialect import DialectModel, dialect_groups
from hatespeech.evaluation.audit import (
    AuditConfig,
    MitigationSplit,
    dialect_audit,
    fold_predictions,
    headline,
    pooled_mitigation_report,
)
from hatespeech.evaluation.crossval import fold_ids, read_fold_metrics, summarize
from hatespeech.evaluation.stats import Bootstrap
from hatespeech.io import write_json
from hatespeech.model.decision import DecisionRule, RuleConfig

log = logging.getLogger("hatespeech")
MODELS = ("transformer", "baseline")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", required=True, help="results/fold<i>/<model>/test.json of every fold")
    parser.add_argument("--folds", required=True, help="folds/fold<i>/test.parquet of every fold (the texts)")
    parser.add_argument("--models", required=True, help="models/fold<i>/transformer (its decision rule)")
    parser.add_argument("--dialect-model", required=True, help="the TwitterAAE model directory")
    parser.add_argument("--out", required=True, help="the summary (JSON)")
    parser.add_argument("--audit", required=True, help="the dialect bias audit over every out-of-fold row (JSON)")
    args = parser.parse_args()
    params = load_params()
    folds, results = fold_ids(params), Path(args.results)
    # What the folds trained with, so a copy of this directory still says which run it is (cv_compare reads it).
    settings = {"fairness": params.get("fairness") or {"method": "none"}, "train_epochs": params["train"]["epochs"]}
    summary: dict[str, object] = {"folds": len(folds), "settings": settings}
    summary.update({model: summarize(read_fold_metrics(results, model, folds)) for model in MODELS})

    config, bootstrap = AuditConfig.of(params), Bootstrap.from_params(params)
    dialects = DialectModel.load(args.dialect_model)
    # Every fold's test rows (each tweet once, out of fold) and the transformer's validation rows, each read once.
    folds_dir = Path(args.folds)
    tables: dict[str, list[pd.DataFrame]] = {model: [] for model in MODELS}
    texts: list[str] = []
    validation = []
    for fold in folds:
        for model in MODELS:
            table, fold_texts = fold_predictions(results, folds_dir, model, fold)
            tables[model].append(table)
        texts += fold_texts
        validation.append(fold_predictions(results, folds_dir, "transformer", fold, "validation"))
    proportions = dialects.proportions(texts)
    predictions = {model: pd.concat(parts, ignore_index=True) for model, parts in tables.items()}
    audit = dialect_audit(predictions, proportions, config, bootstrap)

    # The mitigation, each fold's offset fitted on its own validation rows: five times the test split's tweets.
    groups = dialect_groups(proportions, config.group_threshold)
    starts = np.cumsum([0, *(len(table) for table in tables["transformer"])])
    mitigation = [
        MitigationSplit(
            validation_table,
            dialect_groups(dialects.proportions(validation_texts), config.group_threshold),
            tables["transformer"][number],
            groups[starts[number] : starts[number + 1]],
            DecisionRule.load(Path(args.models) / f"fold{fold}" / "transformer"),
        )
        for number, (fold, (validation_table, validation_texts)) in enumerate(zip(folds, validation))
    ]
    audit["mitigation"] = {
        "model": "transformer",
        **pooled_mitigation_report(mitigation, RuleConfig.of(params), config, bootstrap),
    }
    write_json(args.out, summary)
    write_json(args.audit, {"split": f"every row, out of fold ({len(folds)} folds)", **audit})
    for model in MODELS:
        log.info("%s", headline(audit, model))


if __name__ == "__main__":
    run_stage("cv_summary", main)
