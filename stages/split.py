"""Stage 2, split: stratified train/validation/test with near-duplicate tweets kept together."""

import argparse
from pathlib import Path

from hatespeech.cli import run_stage
from hatespeech.data.sources import read_table, write_table
from hatespeech.data.splitting import split_dataset, split_stats
from hatespeech.io import atomic_output, load_params, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True, help="normalized dataset from the download stage")
    parser.add_argument("--out-dir", required=True, help="directory for train/validation/test.parquet")
    parser.add_argument("--stats", required=True, help="JSON file of split sizes and class counts")
    args = parser.parse_args()
    params = load_params()

    frame = read_table(args.data)
    splits = split_dataset(
        frame,
        validation_size=float(params["split"]["validation_size"]),
        test_size=float(params["split"]["test_size"]),
        seed=int(params["base"]["seed"]),
    )
    with atomic_output(args.out_dir, directory=True) as tmp:
        for name, part in splits.items():
            write_table(part, Path(tmp) / f"{name}.parquet")
    write_json(args.stats, split_stats(frame, splits))


if __name__ == "__main__":
    run_stage("split", main)
