"""split: stratified train/validation/test with near-duplicate tweets kept together."""

import argparse
from pathlib import Path

from hatespeech.cli import run_stage
from hatespeech.config import BaseConfig, load_params
from hatespeech.data.splitting import SplitConfig, split_dataset, split_stats
from hatespeech.io import atomic_output, read_table, write_json, write_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True, help="normalized dataset from the download stage")
    parser.add_argument("--out-dir", required=True, help="directory for train/validation/test.parquet")
    parser.add_argument("--stats", required=True, help="JSON file of split sizes and class counts")
    args = parser.parse_args()
    params = load_params()

    frame = read_table(args.data)
    config = SplitConfig.of(params)
    splits = split_dataset(frame, config.validation_size, config.test_size, seed=BaseConfig.of(params).seed)
    with atomic_output(args.out_dir, directory=True) as tmp:
        for name, part in splits.items():
            write_table(part, Path(tmp) / f"{name}.parquet")
    write_json(args.stats, split_stats(frame, splits))


if __name__ == "__main__":
    run_stage("split", main)
