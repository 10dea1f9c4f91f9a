"""Cross-validation, folds: k stratified folds of the whole dataset, near-duplicate tweets kept together
(as the split stage does), each written as a train/validation/test split directory that the pipeline's own
tokenize, train, evaluate and baseline stages read."""

import argparse
from pathlib import Path

from hatespeech.cli import run_stage
from hatespeech.data.sources import read_table, write_table
from hatespeech.data.splitting import kfold_splits, split_stats
from hatespeech.evaluation.crossval import fold_ids
from hatespeech.io import atomic_output, load_params, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True, help="normalized dataset from the download stage")
    parser.add_argument("--out-dir", required=True, help="fold<i>/{train,validation,test}.parquet and stats.json")
    args = parser.parse_args()
    params = load_params()
    folds = fold_ids(params)

    frame = read_table(args.data)
    splits = kfold_splits(
        frame, len(folds), float(params["split"]["validation_size"]), seed=int(params["base"]["seed"])
    )
    with atomic_output(args.out_dir, directory=True) as tmp:
        for fold, split in zip(folds, splits):
            (tmp / f"fold{fold}").mkdir()
            for name, part in split.items():
                write_table(part, tmp / f"fold{fold}" / f"{name}.parquet")
        write_json(Path(tmp) / "stats.json", {f"fold_{f}": split_stats(frame, s) for f, s in zip(folds, splits)})


if __name__ == "__main__":
    run_stage("cv_folds", main)
