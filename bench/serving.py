"""Serving throughput: four ways to classify the same texts on the same machine, in one run.

    python bench/serving.py --model models/model --onnx models/onnx --out reports/bench_serving.json
    python bench/serving.py --model models/model --data ../shared/data/hate_speech_offensive/labeled_data.csv

Rows: transformers ``pipeline("text-classification")`` called one text at a time; the same pipeline
with ``batch_size=64``; this project's :class:`~hatespeech.inference.Classifier` (length-sorted batches)
on PyTorch; and on ONNX Runtime, fp32 and int8. Each path is warmed up, then timed on every text.
Without ``--onnx`` (or if the directory does not exist) the model is exported to a temporary directory
first. ``--quick`` times 32 texts: for tests of the report's structure, not of speed.

The main function, :func:`run_serving_benchmark`, is importable, e.g. by a wider benchmark harness.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `bench` and this checkout's `hatespeech`
from bench.machine import cpu_model  # noqa: E402

DEFAULT_TEXTS = "data/split/test.parquet"
QUICK_TEXTS = 32
# Targets on a 2-core CPU with MiniLM: length-sorted batches vs the one-at-a-time pipeline, int8 vs PyTorch.
TARGETS = {"sorted_batches_vs_one_at_a_time": 5.0, "onnx_int8_vs_torch_batches": 2.0}


def load_texts(path: str | Path = DEFAULT_TEXTS, n: int | None = 1000, column: str | None = None) -> list[str]:
    """The first ``n`` texts of a split parquet file (column ``text``) or the authors' CSV (column ``tweet``)."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise SystemExit(f"error: no texts at {path}: build the pipeline (dvc repro split) or pass --data CSV")
    frame = pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.read_parquet(path)
    column = column or ("tweet" if "tweet" in frame.columns else "text")
    if column not in frame.columns:
        raise SystemExit(f"error: {path} has no column '{column}' (columns: {', '.join(map(str, frame.columns))})")
    texts = frame[column].dropna().astype(str)
    return texts.tolist()[:n] if n else texts.tolist()


def _machine() -> dict[str, Any]:
    import onnxruntime
    import torch
    import transformers

    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "onnxruntime": onnxruntime.__version__,
    }


def _time(run: Callable[[Sequence[str]], Any], texts: Sequence[str], warmup: Sequence[str]) -> float:
    run(warmup)  # first calls allocate, build kernels and fill caches
    started = time.perf_counter()
    run(texts)
    return time.perf_counter() - started


def run_serving_benchmark(
    model_dir: str | Path,
    onnx_dir: str | Path | None,
    texts: Sequence[str],
    batch_size: int = 64,
    quick: bool = False,
    threads: int | None = None,
) -> dict[str, Any]:
    """Throughput (texts/s) of each way to classify ``texts``, and the ratios between them.

    ``onnx_dir`` is the export stage's directory; None (or a missing directory) exports ``model_dir`` to a
    temporary directory first. ``threads`` sets PyTorch's and ONNX Runtime's thread count for every path
    (default: the libraries' own, one per core).
    """
    import torch
    from transformers import pipeline

    from hatespeech.export import export_onnx
    from hatespeech.inference import Classifier

    texts = list(texts[:QUICK_TEXTS] if quick else texts)
    if not texts:
        raise ValueError("no texts to benchmark")
    warmup = texts[: min(len(texts), batch_size)]
    if threads:
        torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory(prefix="onnx-export-") as scratch:
        if onnx_dir is None or not Path(onnx_dir).is_dir():
            onnx_dir = Path(scratch)
            export_onnx(model_dir, onnx_dir)
        classify = pipeline("text-classification", model=str(model_dir), top_k=None, device="cpu")
        torch_classifier = Classifier(model_dir, "torch", threads=threads)
        max_length = torch_classifier.max_length
        paths: dict[str, Callable[[Sequence[str]], Any]] = {
            "pipeline_one_at_a_time": lambda batch: [classify(t, truncation=True, max_length=max_length) for t in batch],
            f"pipeline_batch_{batch_size}": lambda batch: classify(
                list(batch), batch_size=batch_size, truncation=True, max_length=max_length
            ),
            "sorted_batches_torch": lambda batch: torch_classifier.predict(batch, batch_size),
        }
        for backend in ("onnx", "onnx-int8"):
            onnx_classifier = Classifier(onnx_dir, backend, threads=threads)
            paths[f"sorted_batches_{backend.replace('-', '_')}"] = (
                lambda batch, c=onnx_classifier: c.predict(batch, batch_size)
            )
        rows = []
        for name, run in paths.items():
            seconds = _time(run, texts, warmup)
            rows.append({"name": name, "seconds": round(seconds, 4), "texts_per_s": round(len(texts) / seconds, 1)})
            print(f"{name:28s} {len(texts) / seconds:9.1f} texts/s", file=sys.stderr)

    speed = {row["name"]: row["texts_per_s"] for row in rows}
    for row in rows:
        row["vs_one_at_a_time"] = round(row["texts_per_s"] / speed["pipeline_one_at_a_time"], 2)
    ratios = {
        "sorted_batches_vs_one_at_a_time": round(speed["sorted_batches_torch"] / speed["pipeline_one_at_a_time"], 2),
        "sorted_batches_vs_pipeline_batch": round(speed["sorted_batches_torch"] / speed[f"pipeline_batch_{batch_size}"], 2),
        "onnx_int8_vs_torch_batches": round(speed["sorted_batches_onnx_int8"] / speed["sorted_batches_torch"], 2),
        "onnx_fp32_vs_torch_batches": round(speed["sorted_batches_onnx"] / speed["sorted_batches_torch"], 2),
    }
    return {
        "model_dir": str(model_dir),
        "texts": len(texts),
        "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
        "batch_size": batch_size,
        "threads": threads,
        "quick": quick,
        "machine": _machine(),
        "rows": rows,
        "ratios": ratios,
        "targets": {name: {"target": target, "met": ratios[name] >= target} for name, target in TARGETS.items()},
    }


def format_table(report: dict[str, Any]) -> str:
    lines = [f"{report['texts']} texts, batch size {report['batch_size']}, {report['machine']['cpu']} "
             f"({report['machine']['cores']} cores), torch {report['machine']['torch']}",
             f"{'path':28s} {'texts/s':>9s} {'× one-at-a-time':>16s}"]
    lines += [f"{row['name']:28s} {row['texts_per_s']:9.1f} {row['vs_one_at_a_time']:16.2f}" for row in report["rows"]]
    lines += [f"{name}: {value}" for name, value in report["ratios"].items()]
    lines += [f"target {name} >= {t['target']}: {'met' if t['met'] else 'MISSED'}" for name, t in report["targets"].items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/model", help="trained model directory (default: %(default)s)")
    parser.add_argument("--onnx", default="models/onnx", help="export stage's directory; exported on the fly if missing")
    parser.add_argument("--data", default=DEFAULT_TEXTS, help="split parquet or the authors' CSV (default: %(default)s)")
    parser.add_argument("--column", help="text column (default: tweet in a CSV, text in a parquet file)")
    parser.add_argument("-n", type=int, default=1000, help="how many texts (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_TEXTS} texts: checks that it runs, not speed")
    parser.add_argument("--threads", type=int, help="PyTorch and ONNX Runtime threads (default: one per core)")
    parser.add_argument("--out", help="write the report as JSON here")
    args = parser.parse_args(argv)
    from hatespeech.files import write_json

    report = run_serving_benchmark(args.model, args.onnx, load_texts(args.data, args.n, args.column), args.batch_size,
                                   args.quick, args.threads)
    print(format_table(report))
    if args.out:
        write_json(args.out, report)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere in the repo
    sys.exit(main())
