"""``hatespeech-feedback``: the corrections the service stored (Perspective's ``comments:suggestscore``) out to the
CSV the pipeline trains on.

    hatespeech-feedback export --out data/feedback/corrections.csv          # the service's default store
    hatespeech-feedback export --store postgresql://… --out data/feedback/corrections.csv
    hatespeech-feedback show                                                # counts by label

then ``dvc add data/feedback/corrections.csv``, commit, set ``feedback.weight`` and ``dvc repro``
(docs/serving.md, "Corrections back into training").
"""

from __future__ import annotations

import argparse
import os
import sys

from hatespeech import PipelineError
from hatespeech.cli import fail
from hatespeech.data.corrections import CorrectionStore, corrections_table, read_corrections, write_corrections

STORE_ENV = "HATESPEECH_CORRECTIONS"  # the service's setting of the same store
DEFAULT_STORE = "feedback/corrections.db"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("export", "write the corrections to a CSV"), ("show", "print counts by label")):
        command = commands.add_parser(name, help=text)
        command.add_argument(
            "--store",
            default=os.environ.get(STORE_ENV, DEFAULT_STORE),
            help=f"a SQLite file or postgresql:// URL (default: ${STORE_ENV}, else {DEFAULT_STORE})",
        )
    commands.choices["export"].add_argument("--out", required=True, help="the CSV (data/feedback/corrections.csv)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if not args.store.startswith(("postgresql://", "postgres://")) and not os.path.isfile(args.store):
            raise PipelineError(f"no corrections store at {args.store}: has the service stored any? (--store)")
        store = CorrectionStore(args.store)
        try:
            if args.command == "export":
                table = write_corrections(store, args.out)
                read_corrections(args.out)  # what was written passes the pipeline's own check
                print(
                    f"feedback: {len(table)} corrections ({int(table['suggestions'].sum())} suggestions) -> {args.out}"
                )
            else:
                table = corrections_table(store.rows())
                print(table.groupby("label")["suggestions"].agg(["count", "sum"]).to_string())
        finally:
            store.close()
    except PipelineError as exc:
        return fail("feedback", str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
