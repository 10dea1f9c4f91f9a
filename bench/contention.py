"""Training and inference on a busy CPU: the same work idle and beside a competing CPU-bound process.

    python -m bench.contention [--data CSV] [--model DIR] [--out bench/contention.json]
    python -m bench.contention --quick      # the tests' tiny BERT and synthetic tweets (structure, not speed;
                                            # the two settings the targets compare, not the third)

Three settings, each measured idle and beside a competitor, in one run:

* ``torch default``: what PyTorch does untouched (one OpenMP thread per core, OpenMP's default spin-then-sleep
  wait): the project's behaviour before hatespeech/threads.py;
* ``fair share``: the project's default (threads chosen from the cores other processes leave free);
* ``all cores, passive``: one thread per core, but waiting threads sleep (``OMP_WAIT_POLICY=PASSIVE``).

Every measurement is a fresh process (the OpenMP wait policy is fixed when torch loads): the train stage's
``train_classifier`` on the same length-grouped batches, timed per optimizer step, then the trained model
classifying the test tweets through :class:`hatespeech.model.inference.Classifier`. The competitor is another
PyTorch process with torch's defaults doing matrix products (``--competitor python``: a one-thread busy loop); it
starts once the measuring process has imported its libraries, and runs a warm-up before the measurement begins.
The report gives each figure and its share of the same setting's idle figure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.report import table, write_report
from hatespeech.threads import THREADS_ENV, WAIT_POLICY_ENV, usable_cpus

ROOT = Path(__file__).resolve().parents[1]
# Each setting's environment: threads (None: the project's choice) and OpenMP wait policy (None: OpenMP's default).
SETTINGS: dict[str, tuple[str | None, str | None]] = {
    "torch default": ("all", None),
    "fair share": (None, None),
    "all cores, passive": ("all", "PASSIVE"),
}
COMPETITORS = {
    # Another PyTorch job as it runs untouched: every core's worth of spinning OpenMP threads.
    "torch": "import torch\na = torch.randn(384, 384)\nwhile True:\n    a = torch.tanh(a @ a * 0.01)\n",
    "python": "while True:\n    pass\n",
}
# Sizes per mode: (training examples, untimed warm-up steps, test texts classified, seconds a run may train).
SIZES = {"full": (800, 3, 500, 90.0), "quick": (24, 1, 20, 3.0)}
TARGETS = {"busy_share": 0.35, "idle_vs_torch_default": 0.95}  # fair share: busy ÷ idle; idle ÷ torch default's idle
READY = "ready"  # what a worker prints once its libraries are imported
QUICK_SETTINGS = ("torch default", "fair share")  # what the targets compare: --quick checks the harness on these


def worker_env(setting: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (WAIT_POLICY_ENV, THREADS_ENV, "OMP_NUM_THREADS")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    threads, policy = SETTINGS[setting]
    if threads == "all":
        env[THREADS_ENV] = str(len(usable_cpus()))  # torch's own default: one thread per core
    if policy:
        env[WAIT_POLICY_ENV] = policy
    return env


def run_worker(
    setting: str, project: Path, model: str, sizes: tuple, seed: int, competitor: str | None = None
) -> dict[str, Any]:
    """One measurement in a fresh process under ``setting``'s environment; with a ``competitor`` (a key of
    :data:`COMPETITORS`), that process starts once the worker has imported its libraries and runs 2 s (to reach full
    speed) before the worker measures, until the worker ends."""
    examples, warmup, texts, seconds = sizes
    command = [
        sys.executable,
        "-m",
        "bench.contention",
        "--worker",
        "--project",
        str(project),
        "--model",
        model,
        "--examples",
        str(examples),
        "--warmup-steps",
        str(warmup),
        "--texts",
        str(texts),
        "--max-seconds",
        str(seconds),
        "--seed",
        str(seed),
    ]
    with tempfile.TemporaryFile("w+") as stderr:  # a file: a full pipe would block the worker's logging
        worker = subprocess.Popen(
            command,
            cwd=ROOT,
            env=worker_env(setting),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        assert worker.stdin is not None and worker.stdout is not None
        competing = None
        try:
            ready = any(line.strip() == READY for line in worker.stdout)  # stops at the first match
            if ready:
                if competitor is not None:
                    competing = subprocess.Popen(
                        [sys.executable, "-c", COMPETITORS[competitor]], stdout=subprocess.DEVNULL
                    )
                    time.sleep(2.0)  # let it reach full speed before the worker looks at the load
                worker.stdin.write("go\n")
            worker.stdin.close()
            output = worker.stdout.read()
            worker.wait()
        finally:
            for process in (worker, competing):  # the worker too, should starting the competitor fail
                if process is not None and process.poll() is None:
                    process.kill()
                    process.wait()
        stderr.seek(0)
        if worker.returncode != 0 or not ready:
            raise BenchError(
                f"the {setting} measurement failed ({worker.returncode}):\n{stderr.read().strip()[-3000:]}"
            )
    return json.loads(output.strip().splitlines()[-1])


def measure(project: str, model: str, examples: int, warmup: int, texts: int, max_seconds: float, seed: int) -> dict:
    """One measurement, in this process: train on ``examples`` examples (stopping after ``max_seconds``),
    then classify ``texts`` test tweets with the trained model."""
    import contextlib
    import io
    import shutil

    import datasets
    import pandas as pd
    import torch
    from transformers import TrainerCallback

    from bench.throughput import StepTimer
    from hatespeech import TEXT
    from hatespeech.model.inference import Classifier
    from hatespeech.model.training import TrainConfig, train_classifier
    from hatespeech.threads import set_torch_threads

    class StopAfter(TrainerCallback):  # a starved setting must not hold the benchmark for minutes
        def __init__(self) -> None:
            self.started = time.perf_counter()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if time.perf_counter() - self.started > max_seconds and state.global_step > warmup + 1:
                control.should_training_stop = True

    choice = set_torch_threads()
    tokenized = datasets.load_from_disk(str(Path(project) / "data" / "tokenized"), keep_in_memory=True)
    train = (
        tokenized["train"].shuffle(seed=seed).select(range(min(examples, len(tokenized["train"])))).flatten_indices()
    )
    validation = tokenized["validation"].select(range(min(32, len(tokenized["validation"]))))
    config = TrainConfig(epochs=1, batch_size=16, warmup_steps=5, class_weights="sqrt", checkpoint_steps=0)
    timer = StepTimer()
    with tempfile.TemporaryDirectory() as scratch, contextlib.redirect_stdout(io.StringIO()):
        model_out = Path(scratch) / "model"
        model_out.mkdir()
        train_classifier(
            train,
            validation,
            model,
            config,
            model_out=model_out,
            checkpoint_dir=Path(scratch) / "ckpt",
            seed=seed,
            callbacks=[timer, StopAfter()],
        )
        training = timer.rates(warmup)
        classifier = Classifier(model_out, "torch", threads=choice.threads)
        words = pd.read_parquet(Path(project) / "data" / "split" / "test.parquet")[TEXT].tolist()[:texts]
        classifier.predict(words[:16])  # warm-up
        started = time.perf_counter()
        classifier.predict(words)
        inference_s = time.perf_counter() - started
        shutil.rmtree(model_out)
    return {
        "threads": choice.threads,
        "thread_choice": choice.reason,
        "torch_threads": torch.get_num_threads(),
        "wait_policy": os.environ.get(WAIT_POLICY_ENV, "default").lower(),
        "train_steps_timed": training["steps_timed"],
        "train_samples_per_s": training["samples_per_s"],
        "inference_texts": len(words),
        "inference_texts_per_s": round(len(words) / inference_s, 2),
    }


def prepare(workdir: Path, data: Path | None, model: str | None, quick: bool) -> tuple[Path, str]:
    """A scratch project where the real download, split and tokenize stages ran on ``data`` for ``model``."""
    from bench.pipeline import new_project, time_data_stages, tiny_inputs
    from bench.run import default_model

    if quick and (data is None or model is None):
        tiny_data, tiny_model = tiny_inputs(workdir / "tiny-inputs")
        data, model = data or tiny_data, model or str(tiny_model)
    data = data or ROOT / "data" / "hate_speech_offensive" / "labeled_data.csv.gz"
    model = model or default_model()
    project = new_project(workdir / "project", data.resolve(), model)
    time_data_stages(project, repeats=1)
    return project, model


def contention_benchmark(
    project: Path, model: str, sizes: tuple, competitor: str, seed: int, settings: tuple[str, ...] = tuple(SETTINGS)
) -> dict[str, Any]:
    rows = []
    for busy in (False, True):
        for setting in settings:
            print(
                f"[contention] {setting}, {'beside a busy ' + competitor + ' process' if busy else 'idle'}", flush=True
            )
            measured = run_worker(setting, project, model, sizes, seed, competitor if busy else None)
            rows.append({"setting": setting, "load": "busy" if busy else "idle", **measured})
    idle = {row["setting"]: row for row in rows if row["load"] == "idle"}
    for row in rows:
        for key in ("train_samples_per_s", "inference_texts_per_s"):
            row[key.replace("_per_s", "_share_of_idle")] = round(row[key] / idle[row["setting"]][key], 3)
    fair = {row["load"]: row for row in rows if row["setting"] == "fair share"}
    targets = [
        (
            "fair share: busy ÷ idle training samples/s",
            fair["busy"]["train_samples_share_of_idle"],
            TARGETS["busy_share"],
        ),
        (
            "fair share idle ÷ torch default idle training samples/s",
            round(fair["idle"]["train_samples_per_s"] / idle["torch default"]["train_samples_per_s"], 3),
            TARGETS["idle_vs_torch_default"],
        ),
    ]
    return {
        "competitor": competitor,
        "rows": rows,
        "targets": [
            {"target": name, "value": value, "goal": f">= {goal}", "met": value >= goal}
            for name, value, goal in targets
        ],
    }


def render(report: dict[str, Any]) -> str:
    rows = report["rows"]
    return "\n".join(
        [
            f"CPU contention: {report['machine']}; competitor: {report['competitor']}; model {report['model']}",
            table(
                [
                    "setting",
                    "load",
                    "threads",
                    "wait",
                    "train samples/s",
                    "share of idle",
                    "infer texts/s",
                    "share of idle",
                ],
                [
                    [
                        r["setting"],
                        r["load"],
                        r["threads"],
                        r["wait_policy"],
                        r["train_samples_per_s"],
                        r["train_samples_share_of_idle"],
                        r["inference_texts_per_s"],
                        r["inference_texts_share_of_idle"],
                    ]
                    for r in rows
                ],
            ),
            "",
            table(
                ["target", "value", "goal", ""],
                [[t["target"], t["value"], t["goal"], "met" if t["met"] else "MISSED"] for t in report["targets"]],
            ),
        ]
    )


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--quick", action="store_true", help="tiny BERT and synthetic tweets: checks the harness, not speed"
    )
    parser.add_argument(
        "--data", type=Path, help="labeled_data.csv(.gz) (default: the shipped copy; --quick: synthetic)"
    )
    parser.add_argument("--model", help="checkpoint to train (default: params.yaml's; --quick: the tests' tiny BERT)")
    parser.add_argument("--competitor", choices=sorted(COMPETITORS), default="torch")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "contention.json")
    parser.add_argument("--seed", type=int, default=42)
    # One measurement in this process (what the parent runs in each fresh process).
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--project", help=argparse.SUPPRESS)
    parser.add_argument("--examples", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--warmup-steps", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--texts", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--max-seconds", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.worker:
        import datasets  # noqa: F401  (what measure() uses, imported before the competitor starts)
        import transformers

        from hatespeech.model.inference import Classifier  # noqa: F401
        from hatespeech.model.training import train_classifier  # noqa: F401

        transformers.logging.set_verbosity_error()
        print(READY, flush=True)
        sys.stdin.readline()  # the parent's go: the competitor, if any, is at full speed
        result = measure(
            args.project, args.model, args.examples, args.warmup_steps, args.texts, args.max_seconds, args.seed
        )
        print(json.dumps(result))
        return None
    if args.data is not None and not args.data.is_file():
        raise BenchError(f"data file not found: {args.data}")
    if len(usable_cpus()) < 2:
        raise BenchError("contention needs at least 2 usable cores: with one, any competitor takes half of everything")
    from bench.report import cpu_model

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hatespeech-contention-") as scratch:
        project, model = prepare(Path(scratch), args.data, args.model, args.quick)
        report = {
            "command": " ".join(["python", "-m", "bench.contention", *(argv if argv is not None else sys.argv[1:])]),
            "machine": f"{cpu_model()}, {len(usable_cpus())} usable cores",
            "model": model,
            **contention_benchmark(
                project,
                model,
                SIZES["quick" if args.quick else "full"],
                args.competitor,
                args.seed,
                QUICK_SETTINGS if args.quick else tuple(SETTINGS),
            ),
        }
    report["duration_s"] = round(time.perf_counter() - started, 1)
    write_report(args.out, report, render(report))
    return report


if __name__ == "__main__":
    from hatespeech.cli import run_cli

    run_cli("bench", main)
