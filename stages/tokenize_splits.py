"""tokenize_splits: the splits as token ids: texts cleaned by the `normalize` params (saved beside the token ids as
normalizer.json, and spelling.json with the augment stage's word lists, which the train stage puts in the model
directory), the checkpoint's fast tokenizer, truncation at
tokenize.max_length, no padding.

(The stage is not called tokenize, after its params section: a script's folder comes first on sys.path, and a
stages/tokenize.py would shadow the standard library's tokenize module.)
"""

import argparse

from hatespeech.cli import run_stage
from hatespeech.config import load_params
from hatespeech.data.splitting import read_splits
from hatespeech.data.text import Normalizer
from hatespeech.io import atomic_output, write_json
from hatespeech.model.loading import ModelConfig
from hatespeech.model.tokenization import TokenizeConfig, tokenize_splits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--splits", required=True, help="directory of split parquet files")
    parser.add_argument("--spelling", required=True, help="the augment stage's spelling word lists (JSON)")
    parser.add_argument("--out-dir", required=True, help="tokenized splits (datasets.save_to_disk)")
    parser.add_argument("--stats", required=True, help="JSON file of token-length statistics")
    args = parser.parse_args()
    params = load_params()

    normalizer = Normalizer.of(params).with_words(args.spelling)
    tokenized, stats = tokenize_splits(
        read_splits(args.splits), ModelConfig.of(params).checkpoint, TokenizeConfig.of(params).max_length, normalizer
    )
    with atomic_output(args.out_dir, directory=True) as tmp:
        tokenized.save_to_disk(str(tmp))
        normalizer.save(tmp)
    write_json(args.stats, stats)


if __name__ == "__main__":
    run_stage("tokenize_splits", main)
