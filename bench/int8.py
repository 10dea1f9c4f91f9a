"""int8 schemes side by side: the export stage's (activations quantized per token row; and its two alternatives,
every row its own zero point or every one symmetric), ONNX Runtime's dynamic quantization (one activation scale per
batch; and the same model run on one text at a time, so each text's scale comes from its own tokens and no padding
is computed) and static quantization (scales calibrated on validation texts), with the fp32 ONNX model they come from.

    python -m bench.int8 --onnx models/onnx --data data/tokenized --out reports/bench_int8.json

On the test split, for each model: throughput (texts/s over length-sorted batches, median of ``--rounds`` rounds
timed in turn), its ratio to the dynamic model's, ``batch_difference`` (a text's largest probability change
between alone and batched with long neighbours), argmax agreement with fp32, and macro and hate F1 with the
model's decision rule. Every model comes from the one fp32 file, so only the quantization differs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.report import cpu_model, table, write_report
from hatespeech import LABEL, LABELS
from hatespeech.cli import run_cli
from hatespeech.metrics import classification_metrics, rounded
from hatespeech.model.decision import DecisionRule, softmax
from hatespeech.model.export import batch_difference
from hatespeech.model.inference import OnnxBackend, batched_logits
from hatespeech.model.int8 import quantize_dynamic_int8, quantize_int8, quantize_static_int8
from hatespeech.model.loading import load_tokenizer
from hatespeech.model.tokenization import load_tokenized
from hatespeech.paths import ONNX_DIR, ONNX_FILES

CALIBRATION_TEXTS = 512  # validation texts that fix the static model's scales (as the export stage once did)
PER_ROW = {"per_row": "one-sided", "per_row_asymmetric": "asymmetric", "per_row_symmetric": "symmetric"}  # row_scales
SCHEMES = ("fp32", *PER_ROW, "dynamic", "dynamic_one_text", "static")


class OneTextAtATime:
    """A backend that runs each text of a batch alone, without its padding: batch-invariant by construction."""

    def __init__(self, backend: OnnxBackend) -> None:
        self.backend, self.input_names = backend, backend.input_names

    def logits(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        lengths = batch["attention_mask"].sum(axis=1)
        rows = [{name: values[i : i + 1, :n] for name, values in batch.items()} for i, n in enumerate(lengths)]
        return np.concatenate([self.backend.logits(row) for row in rows])


def build_models(onnx_dir: Path, validation: Any, columns: list[str], pad_id: int, scratch: Path) -> dict[str, Path]:
    """The model files from ``onnx_dir``'s fp32 file: fp32 itself, then each int8 scheme written to ``scratch``
    (the static one calibrated on the first validation encodings, model inputs ``columns``); ``dynamic_one_text``
    runs the dynamic file."""
    fp32 = onnx_dir / ONNX_FILES["onnx"]
    paths = {name: scratch / f"{name}.onnx" for name in (*PER_ROW, "dynamic", "static")}
    calibration = validation.select(range(min(CALIBRATION_TEXTS, len(validation)))).select_columns(columns)
    for name, row_scales in PER_ROW.items():
        quantize_int8(fp32, paths[name], row_scales)
    quantize_dynamic_int8(fp32, paths["dynamic"])
    quantize_static_int8(fp32, paths["static"], calibration.to_list(), pad_id)
    return {"fp32": fp32, **paths}


def timed_logits(
    backends: dict[str, Any], encodings: list[dict], pad_id: int, batch_size: int, rounds: int
) -> tuple[dict[str, np.ndarray], dict[str, list[float]]]:
    """Each backend's test logits and its seconds per round; backends take turns within a round."""
    logits: dict[str, np.ndarray] = {}
    seconds: dict[str, list[float]] = {name: [] for name in backends}
    for round_number in range(1, rounds + 1):
        for name, backend in backends.items():
            started = time.perf_counter()
            logits[name] = batched_logits(backend, encodings, pad_id, len(LABELS), batch_size)
            seconds[name].append(time.perf_counter() - started)
            print(f"round {round_number}/{rounds} {name:8s} {len(encodings) / seconds[name][-1]:8.1f} texts/s")
    return logits, seconds


def scheme_row(name: str, logits: np.ndarray, reference: np.ndarray, labels: np.ndarray, rule: DecisionRule) -> dict:
    """Agreement with fp32, and F1 with the decision rule (logit columns and ``labels`` in :data:`LABELS` order)."""
    metrics = classification_metrics(labels, rule.predict(softmax(logits), LABELS))
    return {
        "name": name,
        "argmax_agreement": rounded(float((logits.argmax(1) == reference.argmax(1)).mean())),
        "f1_macro": metrics["f1_macro"],
        "f1_hate": metrics["per_class"]["hate_speech"]["f1"],
    }


def run_int8_benchmark(onnx_dir: str | Path, data: str | Path, batch_size: int, rounds: int, threads: int) -> dict:
    onnx_dir = Path(onnx_dir)
    tokenizer = load_tokenizer(str(onnx_dir))
    splits = load_tokenized(str(data))
    test = splits["test"]
    columns = [c for c in tokenizer.model_input_names if c in test.column_names]
    encodings = test.select_columns(columns).to_list()
    labels, rule = np.asarray(test[LABEL]), DecisionRule.load(onnx_dir)
    with tempfile.TemporaryDirectory(prefix="int8-") as scratch:
        paths = build_models(onnx_dir, splits["validation"], columns, tokenizer.pad_token_id, Path(scratch))
        backends: dict[str, Any] = {name: OnnxBackend(path, threads=threads) for name, path in paths.items()}
        backends["dynamic_one_text"] = OneTextAtATime(backends["dynamic"])
        sizes = {name: round(path.stat().st_size / 2**20, 2) for name, path in paths.items()}
        sizes["dynamic_one_text"] = sizes["dynamic"]
        logits, seconds = timed_logits(backends, encodings, tokenizer.pad_token_id, batch_size, rounds)
        differences = {n: batch_difference(b, encodings, tokenizer.pad_token_id) for n, b in backends.items()}
    rows = []
    for name in SCHEMES:
        median = statistics.median(seconds[name])
        row = scheme_row(name, logits[name], logits["fp32"], labels, rule)
        row |= {"texts_per_s": round(len(encodings) / median, 1), "size_mb": sizes[name]}
        row |= {"texts_per_s_rounds": [round(len(encodings) / s, 1) for s in seconds[name]]}
        row["batch_difference"] = float(f"{differences[name]:.3g}")
        rows.append(row)
    speed = {row["name"]: row["texts_per_s"] for row in rows}
    for row in rows:
        row["vs_dynamic"] = round(speed[row["name"]] / speed["dynamic"], 3)
    machine = {"cpu": cpu_model(), "threads": threads}
    return {"texts": len(encodings), "batch_size": batch_size, "rounds": rounds, "machine": machine, "rows": rows}


def render(report: dict[str, Any]) -> str:
    headers = ["model", "texts/s", "× dynamic", "batch diff", "agreement", "macro F1", "hate F1", "MB"]
    cells = [
        [r["name"], r["texts_per_s"], r["vs_dynamic"], f"{r['batch_difference']:.2g}", r["argmax_agreement"]]
        + [r["f1_macro"], r["f1_hate"], r["size_mb"]]
        for r in report["rows"]
    ]
    head = (
        f"{report['texts']} test texts, batch {report['batch_size']}, median of {report['rounds']} rounds, "
        f"{report['machine']['cpu']}, {report['machine']['threads']} threads"
    )
    return f"{head}\n{table(headers, cells)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--onnx", default=ONNX_DIR, help="the export stage's directory (default: %(default)s)")
    parser.add_argument("--data", default="data/tokenized", help="tokenized splits (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=32, help="(default: %(default)s, the service's)")
    parser.add_argument("--rounds", type=int, default=3, help="(default: %(default)s)")
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads (default: %(default)s)")
    parser.add_argument("--out", default="reports/bench_int8.json", help="JSON report (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    report = run_int8_benchmark(args.onnx, args.data, args.batch_size, args.rounds, args.threads)
    write_report(Path(args.out), report, render(report))
    return 0


if __name__ == "__main__":
    run_cli("bench", main)
