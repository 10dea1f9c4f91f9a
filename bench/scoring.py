"""Archive scoring on Ray against one process, side by side in one run: `hatespeech-score` on a local Ray (1 and 2
actors) and `hatespeech-predict` with the same backend, on the same texts.

    python -m bench.scoring --model models/onnx                  # 200,000 tweets: the shipped data repeated
    python -m bench.scoring --model DIR --backend torch --rows 2000 --quick   # a short check (the tests' tiny model)
    python -m bench.scoring --model models/onnx --address 127.0.0.1:6379     # on a running Ray, start-up not counted

The texts are the shipped data's tweets, repeated to ``--rows``, as JSON lines (tweets may hold line breaks): one
file for `hatespeech-predict`, the same rows in four files (shards) for `hatespeech-score`. Each command runs as a
user would run it, from process start to exit, so start-up (Ray, the model) is counted. Reported: texts/s, the
ratio of each Ray run to `hatespeech-predict` (goal >= 0.85: Ray's overhead is small even where it cannot add
machines), 2 actors against 1, and each Ray run's labels checked equal to `hatespeech-predict`'s.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from bench.errors import BenchError
from bench.report import cpu_model, table, write_report
from hatespeech.testing import run
from hatespeech.threads import usable_cpus

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "data" / "hate_speech_offensive" / "labeled_data.csv.gz"
TARGET = 0.85  # at least: hatespeech-score texts/s over hatespeech-predict's
SHARDS = 4


def write_inputs(rows: int, folder: Path) -> tuple[Path, Path, list[str]]:
    """The shipped tweets repeated to ``rows``: one JSON-lines file, and the same rows in :data:`SHARDS` files."""
    with gzip.open(SHIPPED, "rt", encoding="utf-8") as handle:
        tweets = pd.read_csv(handle)["tweet"].tolist()
    texts = [tweets[i % len(tweets)] for i in range(rows)]
    single, shards = folder / "all.jsonl", folder / "shards"
    shards.mkdir(parents=True)
    lines = [json.dumps({"text": text}, ensure_ascii=False) + "\n" for text in texts]
    single.write_text("".join(lines), encoding="utf-8")
    size = -(-rows // SHARDS)
    for shard in range(SHARDS):
        (shards / f"part{shard}.jsonl").write_text("".join(lines[shard * size : (shard + 1) * size]), encoding="utf-8")
    return single, shards, texts


def timed(command: list[str], cwd: Path) -> tuple[float, Any]:
    started = time.perf_counter()
    result = run(command, cwd=cwd)  # both commands get --threads: the thread count is the run's, not the env's
    return time.perf_counter() - started, result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, type=Path, help="models/onnx (or a model directory for torch)")
    parser.add_argument("--backend", default="onnx-int8", help="the backend both commands use (default: %(default)s)")
    parser.add_argument("--rows", type=int, default=200_000, help="texts to score (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="only 1 actor (a short check)")
    parser.add_argument("--address", help="a running Ray to join (default: each run starts a local Ray)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "scoring.json", help="the JSON report")
    args = parser.parse_args(argv)
    if not args.model.is_dir():
        raise BenchError(f"no model directory {args.model}: run `make run` first, or pass --model")
    if args.rows < SHARDS:
        raise BenchError(f"--rows must be at least {SHARDS}")
    cores = len(usable_cpus())
    model = str(args.model.resolve())
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hatespeech-scoring-") as scratch:
        workdir = Path(scratch)
        single, shards, texts = write_inputs(args.rows, workdir)
        predict = [sys.executable, "-m", "hatespeech.scoring.predict", "--backend", args.backend, "--model", model]
        seconds, result = timed([*predict, "--file", str(single), "--quiet", "--threads", str(cores)], workdir)
        labels = [json.loads(line)["label"] for line in result.stdout.splitlines()]
        rows: list[dict[str, Any]] = [{"run": f"hatespeech-predict, {cores} threads", "seconds": seconds}]
        ray = f"Ray at {args.address}" if args.address else "local Ray"
        for actors in (1,) if args.quick else (1, 2):
            out = workdir / f"out-{actors}"
            score = [sys.executable, "-m", "hatespeech.scoring.cli", str(shards), "--out", str(out)]
            score += ["--backend", args.backend, "--model", model, "--actors", str(actors), "--quiet"]
            score += ["--threads", str(max(1, cores // actors))] + (["--address", args.address] if args.address else [])
            seconds, _ = timed(score, workdir)
            scored = pd.concat(
                [pd.read_parquet(next(out.glob(f"part{shard}.jsonl-*.parquet"))) for shard in range(SHARDS)]
            )
            rows.append(
                {
                    "run": f"hatespeech-score, {ray}, {actors} actor(s) x {max(1, cores // actors)} thread(s)",
                    "seconds": seconds,
                    "labels_equal_predict": scored["label"].tolist() == labels,
                }
            )
    for row in rows:
        row["seconds"] = round(row["seconds"], 2)
        row["texts_per_s"] = round(len(texts) / row["seconds"], 1)
        row["vs_predict"] = round(row["texts_per_s"] / rows[0]["texts_per_s"], 3)
    ray_one = rows[1]["vs_predict"]
    report: dict[str, Any] = {
        "command": " ".join(["python", "-m", "bench.scoring", *(argv if argv is not None else sys.argv[1:])]),
        "machine": f"{cpu_model()}, {cores} usable cores",
        "texts": len(texts),
        "backend": args.backend,
        "runs": rows,
        "two_vs_one_actor": None if args.quick else round(rows[2]["texts_per_s"] / rows[1]["texts_per_s"], 3),
        "targets": [
            {
                "target": "score_vs_predict (1 actor)",
                "value": ray_one,
                "goal": f">= {TARGET}",
                "met": "met" if ray_one >= TARGET else "MISSED",
            }
        ],
        "duration_s": round(time.perf_counter() - started, 1),
    }
    rendered = table(
        ["run", "seconds", "texts/s", "vs predict", "labels = predict's"],
        [[r["run"], r["seconds"], r["texts_per_s"], r["vs_predict"], r.get("labels_equal_predict", "")] for r in rows],
    )
    if report["two_vs_one_actor"] is not None:
        rendered += f"\n\n2 actors vs 1: {report['two_vs_one_actor']:.3f}x"
    write_report(args.out, report, rendered)
    return report


if __name__ == "__main__":
    from hatespeech.cli import run_cli

    run_cli("bench", main)
