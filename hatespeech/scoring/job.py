"""The Ray job of ``hatespeech-score``: shards read in rounds, their texts scored by a Ray Data ``map_batches``
over a pool of model actors, each shard's results written atomically (so a killed job resumes where it stopped),
and the run's summary."""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import pandas as pd

from hatespeech import PipelineError
from hatespeech.model.inference import DEFAULT_BATCH_SIZE
from hatespeech.scoring.readers import FORMATS, GZIP, Shard, file_kind, filesystem, read_shard, shard_name

log = logging.getLogger("hatespeech.score")

SUMMARY_FILE = "_summary.json"
ERRORS_SUFFIX = ".errors.jsonl"


# --- Scoring: a Ray Data pipeline over an actor pool ------------------------------------------------------------


class Scorer:
    """A Ray actor: loads the model once, then classifies batches of texts (``map_batches``)."""

    def __init__(self, model_dir: str, backend: str, threads: int, batch_size: int, policy: str | None) -> None:
        from hatespeech.model.inference import Classifier

        self.classifier = Classifier(model_dir, backend, threads=threads)
        self.batch_size = batch_size
        has_policies = policy is not None or self.classifier.policies.policies
        self.policy = self.classifier.policy(policy) if has_policies else None

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        results = self.classifier.predict(batch["text"].tolist(), self.batch_size, self.policy)
        scored = batch.drop(columns=["text"])
        scored["label"] = [result["label"] for result in results]
        scored["score"] = [result["score"] for result in results]
        for name in self.classifier.labels:
            scored[f"p_{name}"] = [result["scores"][name] for result in results]
        if self.policy is not None:
            for column in ("action", "policy", "reason"):
                scored[column] = [result[column] for result in results]
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
    policy: str | None = None  # the moderation policy whose action each row gets (None: the model's default)


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
            fn_constructor_args=(
                settings.model_dir,
                settings.backend,
                settings.threads,
                settings.batch_size,
                settings.policy,
            ),
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
    """(actors, threads per actor, CPUs each reserves). The pool reserves at most all but one of the CPUs (a local
    Ray's ``local_cores``, else the cluster's), so Ray Data's own read and write tasks always have one: a pool that
    takes them all waits forever (ray-project/ray#44687)."""
    if gpus_per_actor > 0:
        count = actors or 1
        return count, threads or 1, 1.0
    if local_cores is not None:
        count = actors or 1
        per_actor = threads or max(1, local_cores // count)
        cpus = float(local_cores)
    else:
        per_actor = threads or 1
        count = actors or max(1, int(cluster_cpus // per_actor) - 1)
        cpus = cluster_cpus
    return count, per_actor, min(float(per_actor), max(cpus - 1, 0.5) / count)
