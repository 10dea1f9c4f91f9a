"""Serving throughput: the ways to classify the same texts on the same machine, in one run.

    python -m bench.serving --model models/model --onnx models/onnx --out reports/bench_serving.json
    python -m bench.serving --model models/model --data ../shared/data/hate_speech_offensive/labeled_data.csv

Rows: transformers ``pipeline("text-classification")`` called one text at a time; the same pipeline
with batches; this project's :class:`~hatespeech.model.inference.Classifier` (length-sorted batches) on
PyTorch fp32 (the default), PyTorch bf16 (only on CPUs that multiply bf16 in hardware) and ONNX Runtime
fp32 and int8 (the export stage's, activations quantized per token row, and the same model quantized with
per-batch dynamic scales; ``bench.int8`` sets the int8 schemes side by side in more detail). Each path is warmed
up, then timed on every text once per round, paths in turn (three rounds by default; the report gives medians);
each row also gives its argmax agreement with PyTorch fp32, so a speed-up is shown with what it costs. Last, what
applying the model's default moderation policy adds per text, as a share of the default path's time per text
(:func:`policy_cost`).

The report also holds a compute ceiling (:func:`bench.ceiling.inference_ceiling`): the fastest this machine
runs the model's per-token matrix products for a batch (fp32 and bf16), in texts per second at the sample's
mean length. No implementation doing the same arithmetic can classify more texts per second than that; each
PyTorch and ONNX fp32 row gives its share of it. Two more PyTorch fp32 rows try the training levers on
inference: the model through ``torch.compile`` (inductor, dynamic shapes; its compile time is reported) and
eager attention instead of SDPA.

Without ``--onnx`` (or if the directory does not exist) the model is exported to a temporary directory
first. ``--quick`` times 32 texts: for tests of the report's structure, not of speed.

The main function, :func:`run_serving_benchmark`, is importable, e.g. by a wider benchmark harness.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from bench.ceiling import inference_ceiling
from bench.report import cpu_model
from hatespeech.cli import run_cli
from hatespeech.model.inference import DEFAULT_BATCH_SIZE, Classifier
from hatespeech.paths import MODEL_DIR, ONNX_DIR

DEFAULT_TEXTS = "data/split/test.parquet"
QUICK_TEXTS = 32
# Targets on a 2-core CPU with MiniLM: length-sorted batches vs the one-at-a-time pipeline, int8 vs PyTorch.
# Both are judged against each PyTorch precision in turn; fp32 is the default path.
TARGETS = {"sorted_batches_vs_one_at_a_time": 5.0, "onnx_int8_vs_torch_batches": 2.0}
REFERENCE = "sorted_batches_torch"  # agreement is measured against this row: PyTorch fp32


def torch_row(precision: str) -> str:
    """The row name of the length-sorted PyTorch path at ``precision``."""
    return REFERENCE if precision == "fp32" else f"{REFERENCE}_{precision}"


def load_texts(path: str | Path = DEFAULT_TEXTS, n: int | None = 1000, column: str | None = None) -> list[str]:
    """The first ``n`` texts of a split parquet file (column ``text``) or the authors' CSV (column ``tweet``)."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise SystemExit(f"error: no texts at {path}: build the pipeline (dvc repro split) or pass --data CSV")
    frame = pd.read_csv(path) if ".csv" in [s.lower() for s in path.suffixes] else pd.read_parquet(path)  # .csv.gz too
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


def _time(run: Callable[[Sequence[str]], Any], texts: Sequence[str]) -> tuple[float, Any]:
    started = time.perf_counter()
    output = run(texts)
    return time.perf_counter() - started, output


def _top_label(output: Any) -> str:
    """The highest-scoring label of one text: a pipeline result (ranked list of {label, score}) or a
    Classifier result (``scores`` by label; its ``label`` applies the decision rule, so it is not used)."""
    if isinstance(output, dict):
        return max(output["scores"], key=output["scores"].get)
    while isinstance(output[0], list):  # a pipeline called on one string nests its ranking in a list
        output = output[0]
    return output[0]["label"]


def _predict(classifier: Any, batch: Sequence[str], batch_size: int) -> list[dict[str, Any]]:
    return classifier.predict(batch, batch_size)


def _onnx_models(model_dir: str | Path, onnx_dir: str | Path | None, scratch: Path) -> tuple[str | Path, Path]:
    """The exported model's directory (``onnx_dir``, or ``model_dir`` exported into ``scratch`` where it is
    missing) and, in ``scratch``, its int8 model quantized with per-batch dynamic scales."""
    from hatespeech.model.export import export_onnx
    from hatespeech.model.int8 import quantize_dynamic_int8

    if onnx_dir is None or not Path(onnx_dir).is_dir():
        onnx_dir = scratch / "onnx"
        export_onnx(model_dir, onnx_dir)
    # ONNX Runtime's dynamic int8 (one activation scale per batch), the scheme the export's int8 refines.
    dynamic_dir = scratch / "int8-dynamic"
    shutil.copytree(onnx_dir, dynamic_dir, ignore=shutil.ignore_patterns("*.onnx"))
    quantize_dynamic_int8(Path(onnx_dir) / "model.onnx", dynamic_dir / "model.int8.onnx")
    return onnx_dir, dynamic_dir


def _classifiers(
    model_dir: str | Path, onnx_dir: str | Path, dynamic_dir: Path, precisions: list[str], threads: int | None
) -> dict[str, Classifier]:
    """The length-sorted paths by row name: PyTorch at each precision, ONNX Runtime fp32 and int8 (per-row and
    dynamic scales), then the training levers on PyTorch fp32."""
    classifiers = {
        torch_row(precision): Classifier(model_dir, "torch", threads=threads, precision=precision)
        for precision in precisions
    }
    classifiers |= {
        f"sorted_batches_{backend.replace('-', '_')}": Classifier(onnx_dir, backend, threads=threads)
        for backend in ("onnx", "onnx-int8")
    }
    classifiers["sorted_batches_onnx_int8_dynamic"] = Classifier(dynamic_dir, "onnx-int8", threads=threads)
    # The training levers on the default path (PyTorch fp32): compiled, and eager attention instead of SDPA.
    classifiers[f"{REFERENCE}_compiled"] = Classifier(model_dir, "torch", threads=threads, compile=True)
    classifiers[f"{REFERENCE}_eager_attention"] = Classifier(model_dir, "torch", threads=threads, attention="eager")
    return classifiers


def _pipeline_paths(classify: Any, max_length: int, batch_size: int) -> dict[str, Callable[[Sequence[str]], Any]]:
    """The transformers pipeline ``classify`` one text at a time and in batches, truncating as the classifiers do."""
    return {
        "pipeline_one_at_a_time": lambda batch: [classify(t, truncation=True, max_length=max_length) for t in batch],
        f"pipeline_batch_{batch_size}": lambda batch: classify(
            list(batch), batch_size=batch_size, truncation=True, max_length=max_length
        ),
    }


def _mean_tokens(classifier: Classifier, texts: Sequence[str]) -> float:
    encoded = classifier.tokenizer(texts, truncation=True, max_length=classifier.max_length)
    return sum(map(len, encoded["input_ids"])) / len(texts)


def _timed_rounds(
    paths: dict[str, Callable[[Sequence[str]], Any]],
    texts: Sequence[str],
    rounds: int,
    ceiling: Callable[[str], dict[str, Any]],
    precisions: list[str],
) -> tuple[dict[str, list[float]], dict[str, list[str]], dict[str, dict[str, Any]]]:
    """Each path's seconds per round and its last round's top labels, and the compute ceiling at each precision.

    Paths run in turn within a round (so a slow spell of a shared machine hits all alike), the ceiling after them.
    """
    seconds: dict[str, list[float]] = {name: [] for name in paths}
    labels, ceiling_rounds = {}, []
    for round_number in range(1, rounds + 1):
        for name, run in paths.items():
            elapsed, output = _time(run, texts)
            seconds[name].append(elapsed)
            labels[name] = [_top_label(item) for item in output]
            print(f"round {round_number}/{rounds} {name:36s} {len(texts) / elapsed:9.1f} texts/s", file=sys.stderr)
        ceiling_rounds.append({precision: ceiling(precision) for precision in precisions})
    # The ceiling is a peak: the best round's.
    ceilings = {p: max((c[p] for c in ceiling_rounds), key=lambda c: c["texts_per_s"]) for p in precisions}
    return seconds, labels, ceilings


def _rows(seconds: dict[str, list[float]], first_call: dict[str, float], texts: int) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "seconds": round(statistics.median(times), 4),
            "texts_per_s": round(texts / statistics.median(times), 1),
            "texts_per_s_rounds": [round(texts / t, 1) for t in times],
            "first_call_s": round(first_call[name], 2),
        }
        for name, times in seconds.items()
    ]


def _compare_rows(
    rows: list[dict[str, Any]],
    speed: dict[str, float],
    labels: dict[str, list[str]],
    ceilings: dict[str, dict[str, Any]],
    texts: int,
) -> None:
    """Adds to each row its speed-up over one text at a time, its argmax agreement with PyTorch fp32 and, for the
    rows doing a ceiling's arithmetic (fp32 or bf16 products; int8 has no ceiling here), its share of it."""
    for row in rows:
        row["vs_one_at_a_time"] = round(row["texts_per_s"] / speed["pipeline_one_at_a_time"], 2)
        row["argmax_agreement"] = round(sum(a == b for a, b in zip(labels[row["name"]], labels[REFERENCE])) / texts, 4)
    for row in rows:
        arithmetic = "bf16" if row["name"].endswith("_bf16") else None if "int8" in row["name"] else "fp32"
        if arithmetic in ceilings and row["name"].startswith("sorted_batches"):
            row["share_of_ceiling"] = round(row["texts_per_s"] / ceilings[arithmetic]["texts_per_s"], 3)


POLICY_TARGET = 0.02  # applying a moderation policy may cost at most this share of the default path's time


def policy_cost(classifier: Classifier, texts: Sequence[str], seconds_per_text: float, repeats: int = 5) -> dict | None:
    """What applying the model's default policy adds per text, as the service does it (each answered prediction
    merged with :meth:`Policy.decide` of its scores; best of ``repeats`` over up to 512 texts), and its share of
    ``seconds_per_text`` (the default path's time per text): timed on its own, since a 2% difference between two
    timed throughput rows is within their noise."""
    if not classifier.policies.policies:
        return None
    policy = classifier.policy()
    predictions = classifier.predict(list(texts[:512]))
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        [{**p, **policy.decide(p["scores"])} for p in predictions]
        times.append(time.perf_counter() - started)
    added = min(times) / len(predictions)
    share = added / seconds_per_text
    return {
        "policy": policy.name,
        "added_us_per_text": round(added * 1e6, 2),
        "share_of_default_path": round(share, 5),
        "target": POLICY_TARGET,
        "met": share < POLICY_TARGET,
    }


def _ratios(speed: dict[str, float], batch_size: int) -> dict[str, float]:
    return {
        "sorted_batches_vs_pipeline_batch": round(speed[REFERENCE] / speed[f"pipeline_batch_{batch_size}"], 2),
        "onnx_fp32_vs_torch_batches": round(speed["sorted_batches_onnx"] / speed[REFERENCE], 2),
        # The exported int8 (activations per token row: batch-invariant) against per-batch dynamic scales.
        "onnx_int8_per_row_vs_dynamic": round(
            speed["sorted_batches_onnx_int8"] / speed["sorted_batches_onnx_int8_dynamic"], 2
        ),
    }


def _targets(speed: dict[str, float], precision: str) -> dict[str, dict[str, Any]]:
    """:data:`TARGETS` judged against the PyTorch path at ``precision``."""
    torch_speed = speed[torch_row(precision)]
    achieved = {
        "sorted_batches_vs_one_at_a_time": torch_speed / speed["pipeline_one_at_a_time"],
        "onnx_int8_vs_torch_batches": speed["sorted_batches_onnx_int8"] / torch_speed,
    }
    # Judged on the rounded ratio the report prints, so "2.0 MISSED" cannot appear.
    value = {name: round(ratio, 2) for name, ratio in achieved.items()}
    return {
        name: {"target": target, "value": value[name], "met": value[name] >= target} for name, target in TARGETS.items()
    }


def run_serving_benchmark(
    model_dir: str | Path,
    onnx_dir: str | Path | None,
    texts: Sequence[str],
    batch_size: int = DEFAULT_BATCH_SIZE,
    quick: bool = False,
    threads: int | None = None,
    rounds: int = 3,
) -> dict[str, Any]:
    """Throughput (texts/s) of each way to classify ``texts``, agreement with PyTorch fp32, ratios, ceilings.

    ``onnx_dir`` is the export stage's directory; None (or a missing directory) exports ``model_dir`` to a
    temporary directory first. ``threads`` sets PyTorch's and ONNX Runtime's thread count for every path
    (default: the libraries' own, one per core). Each of ``rounds`` times every path once, in turn, so a
    slow spell of a shared machine hits all paths alike; the report gives each path's median round.
    """
    import torch
    from transformers import pipeline

    from hatespeech.model.precision import cpu_has_native_bf16

    texts = list(texts[:QUICK_TEXTS] if quick else texts)
    if not texts:
        raise ValueError("no texts to benchmark")
    warmup = texts[: min(len(texts), batch_size)]
    if threads:
        torch.set_num_threads(threads)
    precisions = ["fp32", "bf16"] if cpu_has_native_bf16() else ["fp32"]
    with tempfile.TemporaryDirectory(prefix="onnx-export-") as scratch:
        onnx_dir, dynamic_dir = _onnx_models(model_dir, onnx_dir, Path(scratch))
        classify = pipeline("text-classification", model=str(model_dir), top_k=None, device="cpu")
        classifiers = _classifiers(model_dir, onnx_dir, dynamic_dir, precisions, threads)
        reference = classifiers[REFERENCE]
        paths = _pipeline_paths(classify, reference.max_length, batch_size)
        paths |= {name: partial(_predict, c, batch_size=batch_size) for name, c in classifiers.items()}
        # First calls allocate, build kernels (compile) and fill caches.
        first_call = {name: _time(run, warmup)[0] for name, run in paths.items()}
        mean_tokens = _mean_tokens(reference, texts)
        model = reference.backend.model  # type: ignore[attr-defined]
        ceiling = partial(inference_ceiling, model, mean_tokens)
        seconds, labels, ceilings = _timed_rounds(paths, texts, rounds, ceiling, precisions)
        rows = _rows(seconds, first_call, len(texts))

    speed = {row["name"]: row["texts_per_s"] for row in rows}
    _compare_rows(rows, speed, labels, ceilings, len(texts))
    policy = policy_cost(reference, texts, 1 / speed[REFERENCE])
    for precision in precisions:
        ceilings[precision]["vs_one_at_a_time"] = round(
            ceilings[precision]["texts_per_s"] / speed["pipeline_one_at_a_time"], 2
        )
    return {
        "model_dir": str(model_dir),
        "texts": len(texts),
        "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
        "mean_tokens": round(mean_tokens, 1),
        "batch_size": batch_size,
        "threads": threads,
        "rounds": rounds,
        "quick": quick,
        "machine": _machine(),
        "rows": rows,
        "ratios": _ratios(speed, batch_size),
        "ceilings": ceilings,
        "targets": {f"torch {precision}": _targets(speed, precision) for precision in precisions},
        "policy_cost": policy,
    }


def _share(row: dict[str, Any]) -> str:
    return f"{row['share_of_ceiling']:.0%}" if "share_of_ceiling" in row else "—"


def format_table(report: dict[str, Any]) -> str:
    lines = [
        f"{report['texts']} texts ({report['mean_tokens']} tokens on average), batch size {report['batch_size']}, "
        f"median of {report['rounds']} rounds, "
        f"{report['machine']['cpu']} ({report['machine']['cores']} cores), torch {report['machine']['torch']}",
        f"{'path':36s} {'texts/s':>9s} {'× one-at-a-time':>16s} {'agreement':>10s} {'ceiling share':>14s} "
        f"{'first call s':>13s}",
    ]
    lines += [
        f"{row['name']:36s} {row['texts_per_s']:9.1f} {row['vs_one_at_a_time']:16.2f} {row['argmax_agreement']:10.4f} "
        f"{_share(row):>14s} {row['first_call_s']:13.2f}"
        for row in report["rows"]
    ]
    lines += [
        f"compute ceiling {precision}: {c['texts_per_s']} texts/s ({c['matmul_gflops']} GFLOP/s), "
        f"{c['vs_one_at_a_time']}× one-at-a-time"
        for precision, c in report["ceilings"].items()
    ]
    lines += [f"{name}: {value}" for name, value in report["ratios"].items()]
    lines += [
        f"target {name} >= {t['target']} with {variant}: {t['value']} {'met' if t['met'] else 'MISSED'}"
        for variant, targets in report["targets"].items()
        for name, t in targets.items()
    ]
    cost = report.get("policy_cost")
    if cost:
        lines.append(
            f"applying the {cost['policy']} policy: +{cost['added_us_per_text']} µs per text, "
            f"{cost['share_of_default_path']:.3%} of the {REFERENCE} path's time per text "
            f"(target < {cost['target']:.0%}: {'met' if cost['met'] else 'MISSED'})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=MODEL_DIR, help="trained model directory (default: %(default)s)")
    parser.add_argument("--onnx", default=ONNX_DIR, help="export stage's directory; exported on the fly if missing")
    parser.add_argument(
        "--data", default=DEFAULT_TEXTS, help="split parquet or the authors' CSV (default: %(default)s)"
    )
    parser.add_argument("--column", help="text column (default: tweet in a CSV, text in a parquet file)")
    parser.add_argument("-n", type=int, default=1000, help="how many texts (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="(default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_TEXTS} texts: checks that it runs, not speed")
    parser.add_argument("--threads", type=int, help="PyTorch and ONNX Runtime threads (default: one per core)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="times each path is timed, in turn (default: %(default)s)"
    )
    parser.add_argument("--out", help="write the report as JSON here")
    args = parser.parse_args(argv)
    from hatespeech.io import write_json

    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    report = run_serving_benchmark(
        args.model,
        args.onnx,
        load_texts(args.data, args.n, args.column),
        args.batch_size,
        args.quick,
        args.threads,
        args.rounds,
    )
    print(format_table(report))
    if args.out:
        write_json(args.out, report)
    return 0


if __name__ == "__main__":
    run_cli("bench", main)
