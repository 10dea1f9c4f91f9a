"""Score an archive on Ray Data: every text of many files, local or ``s3://``, on this machine or a Ray cluster.

    hatespeech-score tweets/ --out scored/                        # a folder: every .csv .jsonl .parquet .txt in it
    hatespeech-score 'archive/2024-*.csv' --column tweet --id-column id --out scored/
    hatespeech-score s3://bucket/archive/ --out s3://bucket/scored/ --dvc-remote team
    hatespeech-score tweets.csv --out scored/ --address ray://head:10001 --actors 8   # a running Ray cluster

Each input file is one **shard**. Shards are read in rounds (``--round-rows`` texts) whose texts go through a Ray
Data ``map_batches`` over a pool of actors, each loading the model once per round
(:class:`hatespeech.model.inference.Classifier`, the same code path and decision rule as ``hatespeech-predict``);
each shard's results are written atomically to ``OUT/<shard>.parquet``: the input's row number and id, ``label``,
``score`` and every class's calibrated probability ``p_<class>``, and the moderation policy's ``action``, ``policy``
and ``reason`` (``--policy``, default the model's; none for a model without policies). A rerun skips the shards
whose output exists, so a killed job resumes with the shards it had not finished and ends with the same files as an
uninterrupted run. A row that cannot be scored (malformed CSV or JSON, no text, not UTF-8) goes to
``OUT/<shard>.errors.jsonl`` with its source, row and reason, and the job goes on; an input that cannot be read at
all stops the job with one line. ``OUT/_summary.json`` keeps the last run's counts and speed.

Without ``--address`` a local Ray starts on this machine's usable cores. Either way the actor pool reserves less
than all the CPUs (a Ray Data pipeline whose actors hold every CPU can hang: ray-project/ray#44687).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from hatespeech import PipelineError
from hatespeech.cli import fail
from hatespeech.model.inference import DEFAULT_BATCH_SIZE
from hatespeech.scoring.job import ScoreSettings, plan, score_files, start_ray
from hatespeech.scoring.readers import FORMATS, check_columns, input_files, s3_options


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", help="files, folders or globs; local paths or s3:// URLs")
    parser.add_argument("--out", required=True, help="output folder (local or s3://): one parquet file per input")
    parser.add_argument("--model", help="model directory (default: models/onnx; models/model for --backend torch)")
    parser.add_argument("--backend", help="onnx-int8 (default without GPUs), onnx, or torch (default with GPUs)")
    parser.add_argument("--format", choices=FORMATS, help="input format (default: from each file's extension)")
    parser.add_argument("--column", default="text", help="the text's column or JSON field (default: %(default)s)")
    parser.add_argument("--id-column", help="a column or JSON field to copy as each row's id (default: row number)")
    parser.add_argument("--address", help="a running Ray cluster to join (default: start Ray on this machine)")
    parser.add_argument("--actors", type=int, help="model replicas (default: 1 locally; a cluster: its CPUs/threads)")
    parser.add_argument("--threads", type=int, help="inference threads per actor (default: the cores it may use)")
    parser.add_argument("--num-gpus-per-actor", type=float, default=0.0, help="GPUs per actor (torch backend)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="texts per forward pass")
    parser.add_argument(
        "--round-rows",
        type=int,
        default=1_000_000,
        help="texts read and scored per Ray Data pipeline, across shards (default: %(default)s)",
    )
    parser.add_argument(
        "--dvc-remote",
        help="read s3:// paths with this DVC remote's S3 settings (default: the "
        "repository's default remote, if it is an S3 one)",
    )
    parser.add_argument(
        "--policy", help="the moderation policy whose action each row gets (default: the model's default policy)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:
        from hatespeech.model.inference import resolve_backend
        from hatespeech.scoring.predict import DEFAULT_MODEL
        from hatespeech.threads import usable_cpus

        if (
            min(args.batch_size, args.round_rows, args.actors or 1, args.threads or 1) < 1
            or args.num_gpus_per_actor < 0
        ):
            raise PipelineError("--batch-size, --round-rows, --actors and --threads must be at least 1")
        backend = resolve_backend(args.backend or ("torch" if args.num_gpus_per_actor > 0 else "onnx-int8"))
        model = os.path.abspath(args.model or DEFAULT_MODEL[backend])  # the actors' working directory differs
        if not os.path.isdir(model):
            raise PipelineError(f"no model directory {model}: run `make run` (or `dvc pull`) first, or pass --model")
        if not args.address:  # a bad model or policy is one clear line here, not an actor's crash report
            from hatespeech.model.inference import Classifier

            classifier = Classifier(model, backend, threads=1)
            if args.policy is not None:
                classifier.policy(args.policy)
        needs_s3 = any(path.startswith("s3://") for path in [*args.inputs, args.out])
        options = s3_options(args.dvc_remote) if needs_s3 or args.dvc_remote else {}
        sources = input_files(args.inputs, options)
        check_columns(sources, options, args.format, args.column, args.id_column)
        local_cores = None if args.address else len(usable_cpus())
        resources = start_ray(args.address, local_cores or 0, args.quiet)
        actors, threads, reserve = plan(
            args.actors, args.threads, args.num_gpus_per_actor, local_cores, resources.get("CPU", 1.0)
        )
        settings = ScoreSettings(
            model, backend, actors, threads, reserve, args.num_gpus_per_actor, args.batch_size, policy=args.policy
        )
        progress = None if args.quiet else sys.stderr
        if progress is not None:
            progress.write(
                f"score: {len(sources)} input file(s) -> {args.out}; {actors} actor(s) x {threads} thread(s), "
                f"{backend} ({model})\n"
            )
        summary = score_files(
            sources, args.out, settings, options, args.format, args.column, args.id_column, args.round_rows, progress
        )
    except PipelineError as exc:
        return fail("score", str(exc))
    except Exception as exc:
        import ray.exceptions

        if not isinstance(exc, ray.exceptions.RayError):
            raise
        # An actor or task that failed on a worker: Ray's report is pages long; its last line names the cause.
        cause = [line for line in str(exc).splitlines() if line.strip()][-1:] or [type(exc).__name__]
        return fail("score", f"the Ray job failed ({type(exc).__name__}): {cause[0].strip()}")
    report = summary.as_json()
    print(
        f"score: {report['texts']:,} texts scored, {report['errors']:,} errors, {report['shards_scored']} shard(s) "
        f"({report['shards_skipped']} already done), {report['wall_s']:.1f} s, "
        f"{report['texts_per_s'] or 0:,.0f} texts/s -> {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
