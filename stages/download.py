"""Stage 1, download: fetch the dataset (Hub id, local CSV or URL), validate it, write data/raw."""

import argparse

from hatespeech.cli import run_stage
from hatespeech.data.sources import LABEL, class_counts, load_source, stratified_sample, write_table
from hatespeech.io import atomic_output, load_params, sha256_file, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, help="normalized dataset (parquet)")
    parser.add_argument("--manifest", required=True, help="JSON manifest: source, rows, class counts, sha256")
    args = parser.parse_args()
    params = load_params()["download"]

    loaded = load_source(str(params["source"]), params.get("revision"))
    frame = loaded.frame
    if params.get("max_rows"):  # a quick run on a slice: `dvc exp run -S download.max_rows=1000`
        frame = stratified_sample(frame, int(params["max_rows"]))
    with atomic_output(args.out) as tmp:
        write_table(frame, tmp)
        data_sha256 = sha256_file(tmp)
    write_json(
        args.manifest,
        {
            "source": loaded.source,
            "kind": loaded.kind,
            "revision": params.get("revision"),
            "source_sha256": loaded.source_sha256,
            "source_rows": len(loaded.frame),
            "rows": len(frame),
            "class_counts": class_counts(frame[LABEL]),
            "sha256": data_sha256,
        },
    )


if __name__ == "__main__":
    run_stage("download", main)
