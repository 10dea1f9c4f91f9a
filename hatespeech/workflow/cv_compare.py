"""Compare cross-validation runs out of fold: the default against each training-time mitigation
(:mod:`hatespeech.evaluation.mitigations`; docs/bias-audit.md, "Mitigations").

    python -m hatespeech.workflow.cv_compare --run default=runs/default/cv --run reweigh=runs/reweigh/cv \\
        --out fairness.json

Each ``--run NAME=DIR`` is a CV workspace (``cv/`` after `make cv`): its ``folds/`` and every fold's
``results/fold<i>/transformer/predictions.parquet``. The first run is the reference. Runs must share their folds
(the same data, ``base.seed`` and ``cv.folds``); the comparison refuses rows that differ. Writes the JSON report
and prints it as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from hatespeech import PipelineError
from hatespeech.cli import run_stage
from hatespeech.config import load_params
from hatespeech.data.dialect import DialectModel, dialect_groups
from hatespeech.evaluation.audit import AuditConfig, fold_predictions
from hatespeech.evaluation.mitigations import compare_runs, markdown_table
from hatespeech.evaluation.stats import Bootstrap
from hatespeech.io import write_json

log = logging.getLogger("hatespeech")
MODEL = "transformer"


def _run(spec: str) -> tuple[str, Path]:
    name, sep, directory = spec.partition("=")
    if not sep or not name or not directory:
        raise argparse.ArgumentTypeError(f"expected NAME=DIR, got {spec!r}")
    return name, Path(directory)


def read_run(directory: Path) -> tuple[pd.DataFrame, list[str], np.ndarray]:
    """One CV run's out-of-fold predictions (every fold's test rows, in fold order), their texts and fold ids."""
    folds = sorted(int(path.name.removeprefix("fold")) for path in (directory / "folds").glob("fold*"))
    if not folds:
        raise PipelineError(f"{directory}/folds holds no fold: run `make cv` there first")
    tables, texts, ids = [], [], []
    for fold in folds:
        table, fold_texts = fold_predictions(directory / "results", directory / "folds", MODEL, fold)
        tables.append(table)
        texts += fold_texts
        ids.append(np.full(len(table), fold))
    return pd.concat(tables, ignore_index=True), texts, np.concatenate(ids)


def run_settings(directory: Path) -> dict[str, object]:
    """What a run trained with, as its cv_summary recorded it in metrics.json (``fairness``, ``train_epochs``);
    a run from before that record: its fairness taken as none."""
    metrics = directory / "metrics.json"
    recorded = json.loads(metrics.read_text(encoding="utf-8")).get("settings") if metrics.is_file() else None
    return recorded or {"fairness": {"method": "none"}, "train_epochs": None}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=_run, action="append", required=True, help="NAME=DIR; the first is the reference")
    parser.add_argument("--dialect-model", default="data/twitteraae", help="the TwitterAAE model directory")
    parser.add_argument("--out", required=True, help="the comparison (JSON)")
    args = parser.parse_args(argv)
    params = load_params()
    config, bootstrap = AuditConfig.of(params), Bootstrap.from_params(params)
    runs = dict(args.run)
    if len(runs) < 2:
        raise PipelineError("give at least two runs (--run NAME=DIR): the reference and one to compare")
    reference, *_ = runs
    table, texts, folds = read_run(runs[reference])
    labels = table["label"].to_numpy()
    predictions = {reference: table["predicted_tuned"].to_numpy()}
    for name, directory in runs.items():
        if name != reference:
            table, run_texts, _ = read_run(directory)
            if run_texts != texts or not np.array_equal(table["label"].to_numpy(), labels):
                raise PipelineError(f"run {name!r} ({directory}) has other folds than the reference: not comparable")
            predictions[name] = table["predicted_tuned"].to_numpy()
        log.info("%s: %d out-of-fold rows from %s", name, len(predictions[name]), directory)
    groups = dialect_groups(DialectModel.load(args.dialect_model).proportions(texts), config.group_threshold)
    report = compare_runs(labels, groups, folds, predictions, reference, bootstrap.config.resamples, bootstrap.seed)
    report["group_threshold"] = config.group_threshold
    report["settings"] = {name: run_settings(directory) for name, directory in runs.items()}
    write_json(args.out, report)
    print(markdown_table(report))


if __name__ == "__main__":
    run_stage("cv_compare", main)
