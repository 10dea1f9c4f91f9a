"""Score an archive on Ray Data: every text of many files, local or ``s3://``, on this machine or a Ray cluster.

    hatespeech-score tweets/ --out scored/                        # a folder: every .csv .jsonl .parquet .txt in it
    hatespeech-score 'archive/2024-*.csv' --column tweet --id-column id --out scored/
    hatespeech-score s3://bucket/archive/ --out s3://bucket/scored/ --dvc-remote team
    hatespeech-score tweets.csv --out scored/ --address ray://head:10001 --actors 8   # a running Ray cluster

Each input file is one **shard**. Shards are read in rounds (``--round-rows`` texts) whose texts go through a
Ray Data ``map_batches`` over a pool of actors, each loading the model once per round
(:class:`hatespeech.model.inference.Classifier`, the same code path and decision rule as ``hatespeech-predict``);
each shard's results are written atomically to ``OUT/<shard>.parquet``: the input's row number and id,
``label``, ``score`` and every class's probability ``p_<class>``. A rerun skips the shards whose output exists,
so a killed job resumes with the shards it had not finished and ends with the same files as an uninterrupted
run. A row that cannot be scored (malformed CSV or JSON, no text, not UTF-8) goes to
``OUT/<shard>.errors.jsonl`` with its source, row and reason, and the job goes on; an input that cannot be read
at all stops the job with one line. ``OUT/_summary.json`` keeps the last run's counts and speed.

Without ``--address`` a local Ray starts on this machine's usable cores; the actor pool then reserves less than
all of them (a Ray Data pipeline whose actors hold every CPU can hang: ray-project/ray#44687).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import pandas as pd

from hatespeech import PipelineError
from hatespeech.cli import fail
from hatespeech.model.inference import DEFAULT_BATCH_SIZE

log = logging.getLogger("hatespeech.score")

FORMATS = ("csv", "jsonl", "parquet", "lines")
EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".txt": "lines"}
GZIP = ".gz"  # csv, jsonl and txt files may be gzip-compressed (the shipped data copy is a .csv.gz)
SUMMARY_FILE = "_summary.json"
ERRORS_SUFFIX = ".errors.jsonl"


def file_kind(path: str) -> str | None:
    """The input format from a file's extension (``.csv.gz`` is csv), or None for an unknown one."""
    name = PurePosixPath(path).name.lower()
    if name.endswith(GZIP):
        name = name[: -len(GZIP)]
    kind = EXTENSIONS.get(PurePosixPath(name).suffix)
    return None if kind == "parquet" and path.lower().endswith(GZIP) else kind


# --- Where the files are: local paths or s3:// (fsspec), with the DVC remote's S3 settings ---------------------


def s3_options(remote: str | None) -> dict[str, Any]:
    """fsspec/s3fs options from a DVC remote of the repository around the working directory (its
    ``endpointurl``, ``profile``, ``credentialpath`` and ``configpath``, from .dvc/config and config.local): the
    same S3 settings `dvc push` uses. ``remote`` None: the default remote if it is an S3 one, else no options
    (then the AWS environment decides, as for any boto client)."""
    try:
        from dvc.config import Config

        config = Config.from_cwd()
        remotes = config.get("remote", {})
        name = remote or config.get("core", {}).get("remote")
    except Exception as exc:  # noqa: BLE001  (no DVC repository here, or an unreadable config)
        if remote:
            raise PipelineError(f"cannot read DVC remote '{remote}': {exc}") from exc
        return {}
    if not name:
        return {}
    if name not in remotes:
        raise PipelineError(f"no DVC remote named '{name}' (remotes: {', '.join(sorted(remotes)) or 'none'})")
    settings = remotes[name]
    if not str(settings.get("url", "")).startswith("s3://"):
        if remote:
            raise PipelineError(f"DVC remote '{name}' is not an S3 remote ({settings.get('url')})")
        return {}
    # botocore reads the credential and config files from the environment, as DVC makes it do.
    for key, variable in (("credentialpath", "AWS_SHARED_CREDENTIALS_FILE"), ("configpath", "AWS_CONFIG_FILE")):
        if settings.get(key):
            os.environ[variable] = str(settings[key])
    options: dict[str, Any] = {}
    if settings.get("endpointurl"):
        options["endpoint_url"] = settings["endpointurl"]
    if settings.get("profile"):
        options["profile"] = settings["profile"]
    return options


def filesystem(path: str, options: dict[str, Any]) -> tuple[Any, str]:
    """The fsspec filesystem of ``path`` and the path within it (``options`` apply to s3:// only)."""
    import fsspec

    try:
        return fsspec.core.url_to_fs(path, **(options if path.startswith("s3://") else {}))
    except (ImportError, ValueError) as exc:
        raise PipelineError(f"cannot open {path}: {exc}") from exc


def _display(fs: Any, path: str) -> str:
    """A listed path as the user names it: plain when local, with its protocol (``s3://``) otherwise."""
    return path if "file" in fs.protocol else fs.unstrip_protocol(path)


def input_files(inputs: Sequence[str], options: dict[str, Any]) -> list[str]:
    """Every input file, as a full path or URL, sorted and without repeats: a file as given, a folder's files
    with a known extension (recursively), a glob's matches. Nothing to score is a clear error."""
    found: list[str] = []
    for spec in inputs:
        fs, path = filesystem(spec, options)
        try:
            if any(char in spec for char in "*?["):
                matches = sorted(fs.glob(path))
            elif fs.isdir(path):
                matches = sorted(p for p in fs.find(path) if file_kind(p))
            elif fs.isfile(path):
                matches = [path]
            else:
                raise PipelineError(f"{spec}: no such file or folder")
        except PermissionError as exc:
            raise PipelineError(f"{spec}: access denied ({exc})") from exc
        except OSError as exc:
            raise PipelineError(f"{spec}: cannot list it ({exc})") from exc
        files = [_display(fs, p) for p in matches if fs.isfile(p)]
        if not files:
            raise PipelineError(
                f"{spec}: no input files (known: .csv .jsonl .ndjson .txt, each also .gz, and .parquet)"
            )
        found += files
    return sorted(dict.fromkeys(found))


def shard_name(source: str) -> str:
    """The output name of an input file: its name made filesystem-safe, plus a digest of the full path (two
    inputs named alike in different folders get different outputs; the same input always the same one)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", PurePosixPath(source).name)[:80]
    return f"{stem}-{hashlib.sha1(source.encode('utf-8')).hexdigest()[:10]}"


# --- Reading one shard: rows, and the rows that cannot be scored ------------------------------------------------


@dataclass
class Shard:
    """One input file's rows to score (row number, id, text) and the rows that could not be read."""

    source: str
    rows: list[int] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, row: int, identifier: Any, text: Any) -> None:
        if not isinstance(text, str):
            self.error(row, "no text" if text is None else f"the text is a {type(text).__name__}, not a string")
        elif not text.strip():
            self.error(row, "empty text")
        else:
            self.rows.append(row)
            self.ids.append(str(row if identifier is None else identifier))
            self.texts.append(text)

    def error(self, row: int, reason: str) -> None:
        self.errors.append({"source": self.source, "row": row, "reason": reason})


def _lines(raw: bytes) -> Iterator[tuple[int, str | None]]:
    """(line number from 0, text) per line; a line that is not UTF-8 is (number, None)."""
    for number, line in enumerate(raw.splitlines()):
        try:
            yield number, line.decode("utf-8")
        except UnicodeDecodeError:
            yield number, None


def read_shard(raw: bytes, source: str, kind: str, column: str, id_column: str | None) -> Shard:
    """Parse one input file's bytes. Rows are numbered from 0 in the file's order (CSV: data rows after the
    header; JSON lines and text: non-blank lines). A file that cannot be read at all is a PipelineError."""
    shard = Shard(source)
    if kind == "parquet":
        try:
            table = pd.read_parquet(io.BytesIO(raw))
        except (OSError, ValueError) as exc:
            raise PipelineError(f"{source} is not a readable parquet file: {exc}") from exc
        for name in filter(None, (column, id_column)):
            if name not in table.columns:
                raise PipelineError(f"{source}: no column '{name}' (columns: {', '.join(map(str, table.columns))})")
        ids = table[id_column].tolist() if id_column else [None] * len(table)
        for row, (identifier, text) in enumerate(zip(ids, table[column].tolist())):
            shard.add(row, identifier, text)
        return shard
    if kind == "csv":
        return _read_csv(raw, shard, column, id_column)
    row = 0
    for number, line in _lines(raw):
        if line is None:
            shard.error(row, f"line {number + 1} is not valid UTF-8")
            row += 1
            continue
        if not line.strip():
            continue
        if kind == "lines":
            shard.add(row, None, line.rstrip("\r"))
        else:
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                shard.error(row, f"line {number + 1} is not valid JSON")
            else:
                if not isinstance(record, dict):
                    shard.error(row, f"line {number + 1} is not a JSON object")
                else:
                    shard.add(row, record.get(id_column) if id_column else None, record.get(column))
        row += 1
    return shard


def _read_csv(raw: bytes, shard: Shard, column: str, id_column: str | None) -> Shard:
    try:
        header_end = raw.index(b"\n") + 1 if b"\n" in raw else len(raw)
        header = next(csv.reader([raw[:header_end].decode("utf-8")]), None)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise PipelineError(f"{shard.source}: the header line is not readable UTF-8 CSV ({exc})") from None
    if not header:
        return shard
    for name in filter(None, (column, id_column)):
        if name not in header:
            raise PipelineError(f"{shard.source}: no column '{name}' (columns: {', '.join(header)}); see --column")
    text_at, id_at = header.index(column), header.index(id_column) if id_column else None
    # Decoded line by line, so that one line that is not UTF-8 is one bad row.
    body = raw[header_end:].decode("utf-8", errors="surrogateescape")
    reader = csv.reader(io.StringIO(body, newline=""))
    row = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # a NUL byte, an unclosed quote past the field limit: this row only
            shard.error(row, f"not readable CSV: {exc}")
            row += 1
            continue
        if not record:
            continue
        text = record[text_at] if text_at < len(record) else None
        if isinstance(text, str):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                shard.error(row, "not valid UTF-8")
                row += 1
                continue
        identifier = record[id_at] if id_at is not None and id_at < len(record) else None
        shard.add(row, identifier, text)
        row += 1
    return shard


# --- Scoring: a Ray Data pipeline over an actor pool ------------------------------------------------------------


class Scorer:
    """A Ray actor: loads the model once, then classifies batches of texts (``map_batches``)."""

    def __init__(self, model_dir: str, backend: str, threads: int, batch_size: int) -> None:
        from hatespeech.model.inference import Classifier

        self.classifier = Classifier(model_dir, backend, threads=threads)
        self.batch_size = batch_size

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        probabilities = self.classifier.probabilities(batch["text"].tolist(), self.batch_size)
        results = self.classifier.results(probabilities)
        scored = batch.drop(columns=["text"])
        scored["label"] = [result["label"] for result in results]
        scored["score"] = [result["score"] for result in results]
        for name in self.classifier.labels:
            scored[f"p_{name}"] = [result["scores"][name] for result in results]
        return scored


@dataclass(frozen=True)
class ScoreSettings:
    model_dir: str
    backend: str
    actors: int
    threads: int  # per actor
    cpus_per_actor: float  # what each actor reserves from Ray
    gpus_per_actor: float = 0.0
    batch_size: int = DEFAULT_BATCH_SIZE
    rows_per_call: int = 4096  # texts each actor call sorts by length and classifies


def score_rows(frame: pd.DataFrame, settings: ScoreSettings) -> pd.DataFrame:
    """``frame``'s texts scored through Ray Data (its other columns kept, ``text`` dropped), in its order."""
    import ray

    if frame.empty:
        return frame.drop(columns=["text"])
    frame = frame.assign(_order=range(len(frame)))
    blocks = max(1, min(len(frame) // 1024, settings.actors * 4))
    scored = (
        ray.data.from_pandas(frame)
        .repartition(blocks)
        .map_batches(
            Scorer,
            fn_constructor_args=(settings.model_dir, settings.backend, settings.threads, settings.batch_size),
            compute=ray.data.ActorPoolStrategy(size=settings.actors),
            num_cpus=settings.cpus_per_actor,
            num_gpus=settings.gpus_per_actor,
            batch_size=settings.rows_per_call,
            batch_format="pandas",
        )
    )
    parts = list(scored.iter_batches(batch_format="pandas", batch_size=None))
    result = pd.concat(parts, ignore_index=True).sort_values("_order", kind="stable")
    return result.drop(columns=["_order"]).reset_index(drop=True)


def _write_atomic(fs: Any, path: str, data: bytes) -> None:
    """Write ``path`` so that it exists only complete: a temporary name, then a rename (a move on S3)."""
    temporary = f"{path}.{os.getpid()}.tmp"
    with fs.open(temporary, "wb") as handle:
        handle.write(data)
    fs.mv(temporary, path)


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


@dataclass
class Summary:
    shards: int = 0
    skipped: int = 0
    texts: int = 0
    errors: int = 0
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "shards_scored": self.shards,
            "shards_skipped": self.skipped,
            "texts": self.texts,
            "errors": self.errors,
            "wall_s": round(self.seconds, 3),
            "texts_per_s": round(self.texts / self.seconds, 1) if self.seconds else None,
        }


def score_files(
    sources: Sequence[str],
    out: str,
    settings: ScoreSettings,
    options: dict[str, Any],
    kind: str | None = None,
    column: str = "text",
    id_column: str | None = None,
    round_rows: int = 1_000_000,
    progress: Any = None,
) -> Summary:
    """Score every input file not yet scored into ``out``; returns this run's counts.

    Shards are read and scored in rounds of about ``round_rows`` texts, each one Ray Data pipeline (the actors
    load the model once per round, not once per file); a round's shards are written when it ends, so a kill
    loses at most the round under way."""
    out_fs, out_path = filesystem(out, options)
    out_path = out_path.rstrip("/")
    out_fs.makedirs(out_path, exist_ok=True)
    summary, started = Summary(), time.perf_counter()
    pending: list[tuple[str, Shard]] = []

    def finish_round() -> None:
        if not pending:
            return
        round_started = time.perf_counter()
        frames = [
            pd.DataFrame({"shard": number, "row": s.rows, "id": s.ids, "text": s.texts})
            for number, (_, s) in enumerate(pending)
        ]
        scored = score_rows(pd.concat(frames, ignore_index=True), settings)
        for number, (name, shard) in enumerate(pending):
            rows = scored[scored["shard"] == number].drop(columns=["shard"]).reset_index(drop=True)
            _write_shard(out_fs, out_path, name, rows, shard.errors)
            summary.shards += 1
            summary.texts += len(rows)
            summary.errors += len(shard.errors)
        if progress is not None:
            texts = sum(len(s.rows) for _, s in pending)
            seconds = time.perf_counter() - round_started
            progress.write(
                f"score: {summary.shards + summary.skipped}/{len(sources)} shards done; this round {len(pending)} "
                f"shard(s), {texts:,} texts, {sum(len(s.errors) for _, s in pending):,} errors, "
                f"{texts / max(seconds, 1e-9):,.0f} texts/s\n"
            )
            progress.flush()
        pending.clear()

    for source in sources:
        name = shard_name(source)
        if out_fs.exists(f"{out_path}/{name}.parquet"):
            summary.skipped += 1
            continue
        shard_kind = kind or file_kind(source)
        if shard_kind is None:
            raise PipelineError(f"{source}: unknown format; pass --format ({', '.join(FORMATS)})")
        in_fs, in_path = filesystem(source, options)
        try:
            raw = in_fs.cat_file(in_path)
        except OSError as exc:
            raise PipelineError(f"cannot read {source}: {exc}") from exc
        if source.lower().endswith(GZIP):
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError) as exc:
                raise PipelineError(f"{source} is not a readable gzip file: {exc}") from exc
        pending.append((name, read_shard(raw, source, shard_kind, column, id_column)))
        if sum(len(s.rows) for _, s in pending) >= round_rows:
            finish_round()
    finish_round()
    summary.seconds = time.perf_counter() - started
    report = (json.dumps(summary.as_json(), indent=2) + "\n").encode()
    _write_atomic(out_fs, f"{out_path}/{SUMMARY_FILE}", report)
    return summary


def _write_shard(fs: Any, folder: str, name: str, scored: pd.DataFrame, errors: list[dict[str, Any]]) -> None:
    """A shard's errors file (or none), then its scores: the scores file, written last, marks the shard done."""
    errors_target = f"{folder}/{name}{ERRORS_SUFFIX}"
    if errors:
        lines = "".join(json.dumps(error, ensure_ascii=False) + "\n" for error in errors)
        _write_atomic(fs, errors_target, lines.encode("utf-8"))
    elif fs.exists(errors_target):  # left by an earlier run of a changed input
        fs.rm(errors_target)
    _write_atomic(fs, f"{folder}/{name}.parquet", _parquet_bytes(scored))


def read_scores(out: str, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """Every output shard of ``out`` in one table (shard name, then row order): what a job wrote."""
    fs, path = filesystem(out, options or {})
    frames = []
    for file in sorted(fs.glob(f"{path.rstrip('/')}/*.parquet")):
        with fs.open(file, "rb") as handle:
            frame = pd.read_parquet(handle)
        frames.append(frame.assign(shard=PurePosixPath(file).stem))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# --- The command ------------------------------------------------------------------------------------------------


def start_ray(address: str | None, cores: int, quiet: bool = False) -> dict[str, float]:
    """Join the cluster at ``address``, or start a local Ray on ``cores`` CPUs; returns the cluster's resources.
    ``quiet``: Ray's own progress and info lines off (warnings stay)."""
    import ray

    if not ray.is_initialized():  # else a caller (a test, a notebook) started it already
        level = logging.WARNING if quiet else logging.INFO
        if address:
            ray.init(address=address, log_to_driver=False, logging_level=level)
        else:
            ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False, logging_level=level)
    ray.data.DataContext.get_current().enable_progress_bars = not quiet
    if quiet:
        logging.getLogger("ray.data").setLevel(logging.WARNING)
    return ray.cluster_resources()


def plan(
    actors: int | None, threads: int | None, gpus_per_actor: float, local_cores: int | None, cluster_cpus: float
) -> tuple[int, int, float]:
    """(actors, threads per actor, CPUs each reserves). On a local Ray of ``local_cores`` CPUs the pool reserves
    at most all but one of them, so Ray Data's own tasks always have a CPU (ray-project/ray#44687)."""
    if gpus_per_actor > 0:
        count = actors or 1
        return count, threads or 1, 1.0
    if local_cores is not None:
        count = actors or 1
        per_actor = threads or max(1, local_cores // count)
        reserve = min(float(per_actor), max(local_cores - 1, 0.5) / count)
        return count, per_actor, reserve
    per_actor = threads or 1
    return actors or max(1, int(cluster_cpus // per_actor) - 1), per_actor, float(per_actor)


def main(argv: list[str] | None = None) -> int:
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
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:
        from hatespeech.model.inference import resolve_backend
        from hatespeech.serving.predict import DEFAULT_MODEL
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
        if not args.address:  # a bad model is one clear line here, not an actor's crash report
            from hatespeech.model.inference import Classifier

            Classifier(model, backend, threads=1)
        needs_s3 = any(path.startswith("s3://") for path in [*args.inputs, args.out])
        options = s3_options(args.dvc_remote) if needs_s3 or args.dvc_remote else {}
        sources = input_files(args.inputs, options)
        local_cores = None if args.address else len(usable_cpus())
        resources = start_ray(args.address, local_cores or 0, args.quiet)
        actors, threads, reserve = plan(
            args.actors, args.threads, args.num_gpus_per_actor, local_cores, resources.get("CPU", 1.0)
        )
        settings = ScoreSettings(model, backend, actors, threads, reserve, args.num_gpus_per_actor, args.batch_size)
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
