"""download: fetch the dataset (Hub id, local CSV or URL), validate it, write data/raw."""

import argparse

from hatespeech.cli import run_stage
from hatespeech.config import load_params
from hatespeech.data.sources import LABEL, DownloadConfig, class_counts, load_source, stratified_sample
from hatespeech.io import atomic_output, sha256_file, write_json, write_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, help="normalized dataset (parquet)")
    parser.add_argument("--manifest", required=True, help="JSON manifest: source, rows, class counts, sha256")
    args = parser.parse_args()
    config = DownloadConfig.of(load_params())

    loaded = load_source(config.source, config.revision)
    frame = loaded.frame
    if config.max_rows:  # a quick run on a slice: `dvc exp run -S download.max_rows=1000`
        frame = stratified_sample(frame, config.max_rows)
    with atomic_output(args.out) as tmp:
        write_table(frame, tmp)
        data_sha256 = sha256_file(tmp)
    write_json(
        args.manifest,
        {
            "source": loaded.source,
            "kind": loaded.kind,
            "revision": config.revision,
            "source_sha256": loaded.source_sha256,
            "source_rows": len(loaded.frame),
            "rows": len(frame),
            "class_counts": class_counts(frame[LABEL]),
            "sha256": data_sha256,
        },
    )


if __name__ == "__main__":
    run_stage("download", main)
