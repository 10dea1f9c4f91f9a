"""Cross-validation, folds: k stratified folds of the whole dataset, near-duplicate tweets kept together
(as the split stage does), each written as a train/validation/test split directory that the pipeline's own
tokenize, train, evaluate and baseline stages read."""

import argparse
from pathlib import Path

from hatespeech.cli import run_stage
from hatespeech.config import BaseConfig, load_params
from hatespeech.data.splitting import SplitConfig, kfold_splits, split_stats
from hatespeech.evaluation.crossval import fold_ids
from hatespeech.io import atomic_output, read_table, write_json, write_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True, help="normalized dataset from the download stage")
    parser.add_argument("--out-dir", required=True, help="fold<i>/{train,validation,test}.parquet and stats.json")
    args = parser.parse_args()
    params = load_params()
    folds = fold_ids(params)

    frame = read_table(args.data)
    splits = kfold_splits(frame, len(folds), SplitConfig.of(params).validation_size, seed=BaseConfig.of(params).seed)
    with atomic_output(args.out_dir, directory=True) as tmp:
        for fold, split in zip(folds, splits):
            (tmp / f"fold{fold}").mkdir()
            for name, part in split.items():
                write_table(part, tmp / f"fold{fold}" / f"{name}.parquet")
        write_json(Path(tmp) / "stats.json", {f"fold_{f}": split_stats(frame, s) for f, s in zip(folds, splits)})


if __name__ == "__main__":
    run_stage("cv_folds", main)
