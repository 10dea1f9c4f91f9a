"""Training throughput of four padding/sampling variants, timed inside the project's own Trainer run.

Each variant is one call of :func:`hatespeech.model.training.train_classifier` (the train stage's code: the same
model loading, ``DataCollatorWithPadding``, Trainer, sampler and mixed precision) on the same examples.
A :class:`StepTimer` callback timestamps the end of every optimizer step and a forward pre-hook counts
each training batch's tokens, so the figures are of real Trainer steps, data loading included.
Static padding is what the seed notebook did: every example padded when tokenized, so the collator has
nothing left to pad.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

from bench.errors import BenchError
from hatespeech.metrics import classification_metrics
from hatespeech.model.acceleration import ATTENTIONS, OPTIMIZERS
from hatespeech.model.inference import evaluate_split
from hatespeech.model.loading import load_classifier, load_tokenizer
from hatespeech.model.precision import cpu_has_native_bf16
from hatespeech.model.tokenization import token_lengths
from hatespeech.model.training import TrainConfig, train_classifier


@dataclass(frozen=True)
class Variant:
    role: str  # static_max | static_short | dynamic | default: what targets and ratios refer to
    name: str
    pad_to: int | None  # None: padded per batch by the collator
    group_by_length: bool
    description: str


def variants(static_max: int, static_short: int) -> list[Variant]:
    """The four variants, slowest first; the last one is the project's default (params.yaml)."""
    # A model whose limit is below 512 (the tests' tiny BERT: 128) gets a distinct name for its longest padding.
    max_name = f"static-{static_max}" if static_max != static_short else f"static-max-{static_max}"
    return [
        Variant("static_max", max_name, static_max, False, "every example padded to the model's limit (seed notebook)"),
        Variant(
            "static_short", f"static-{static_short}", static_short, False, f"every example padded to {static_short}"
        ),
        Variant("dynamic", "dynamic", None, False, "padded per batch to its longest example, random order"),
        Variant("default", "default", None, True, "padded per batch, length-grouped batches (params.yaml)"),
    ]


@dataclass
class StepTimer(TrainerCallback):
    """Records when each optimizer step ends and the tokens of each training forward pass."""

    step_ends: list[float] = field(default_factory=list)
    batch_sizes: list[int] = field(default_factory=list)
    padded_tokens: list[int] = field(default_factory=list)
    real_tokens: list[torch.Tensor] = field(default_factory=list)  # kept as tensors: no GPU sync per step
    began: float = 0.0
    _hook: Any = None

    @torch._dynamo.disable  # counted eagerly: traced into a compiled graph, it would specialise its shapes
    def _count(self, module: torch.nn.Module, args: tuple, kwargs: dict) -> None:
        if not module.training:  # evaluation passes are not training steps
            return
        ids = kwargs["input_ids"]
        self.batch_sizes.append(int(ids.shape[0]))
        self.padded_tokens.append(int(ids.numel()))
        mask = kwargs.get("attention_mask")
        self.real_tokens.append(mask.detach().sum() if mask is not None else torch.tensor(ids.numel()))

    def on_train_begin(
        self, args: Any, state: Any, control: Any, model: torch.nn.Module | None = None, **kwargs: Any
    ) -> None:
        assert model is not None, "the Trainer passes its model to callbacks"
        self.began = time.perf_counter()
        self._hook = model.register_forward_pre_hook(self._count, with_kwargs=True)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()  # CUDA runs asynchronously: a step has ended only when its kernels have
        self.step_ends.append(time.perf_counter())

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._hook is not None:
            self._hook.remove()

    def rates(self, warmup_steps: int) -> dict[str, float | int]:
        """Samples and tokens per second over the steps after ``warmup_steps`` (one forward per step)."""
        steps = len(self.step_ends)
        if len(self.batch_sizes) != steps:
            raise BenchError(f"counted {len(self.batch_sizes)} training batches for {steps} steps")
        if not 1 <= warmup_steps < steps:
            # The clock starts at the end of the last warm-up step, so there must be one, and a step after it.
            raise BenchError(f"{steps} steps ran: need at least one warm-up step ({warmup_steps}) and one timed step")
        seconds = self.step_ends[-1] - self.step_ends[warmup_steps - 1]
        timed = slice(warmup_steps, steps)
        samples = sum(self.batch_sizes[timed])
        padded = sum(self.padded_tokens[timed])
        real = int(sum(int(t) for t in self.real_tokens[timed]))
        rate = samples / seconds
        first_samples = sum(self.batch_sizes[:warmup_steps])
        first_seconds = self.step_ends[warmup_steps - 1] - self.began
        return {
            "steps_timed": steps - warmup_steps,
            "samples": samples,
            "seconds": round(seconds, 3),
            "samples_per_s": round(samples / seconds, 3),
            "real_tokens_per_s": round(real / seconds, 1),
            "padded_tokens_per_s": round(padded / seconds, 1),
            "mean_padded_length": round(padded / samples, 2),
            "padding_share": round(1 - real / padded, 4),  # of the tokens computed, the share that is padding
            # The warm-up steps' seconds beyond what the steady rate needs for them: compiling, first allocations.
            "first_steps_extra_s": round(max(0.0, first_seconds - first_samples / rate), 2),
            "end_to_end_samples_per_s": round(sum(self.batch_sizes) / (self.step_ends[-1] - self.began), 3),
        }


def static_lengths(checkpoint: str, wanted_max: int = 512, wanted_short: int = 128) -> tuple[int, int]:
    """Padding lengths for the static variants, capped at what the model accepts (the tests' tiny BERT: 128)."""
    from transformers import AutoConfig

    limit = min(
        load_tokenizer(checkpoint).model_max_length, AutoConfig.from_pretrained(checkpoint).max_position_embeddings
    )
    return min(wanted_max, limit), min(wanted_short, limit)


def pad_examples(dataset: Any, tokenizer: Any, length: int) -> Any:
    """What tokenizing with ``padding="max_length"`` gives: every example padded to ``length``."""
    columns = [name for name in tokenizer.model_input_names if name in dataset.column_names]

    def pad(batch: dict[str, list]) -> dict[str, list]:
        padded = tokenizer.pad({name: batch[name] for name in columns}, padding="max_length", max_length=length)
        return {name: padded[name] for name in columns}

    return dataset.map(pad, batched=True, desc=f"pad to {length}")


def run_variant(
    variant: Variant,
    data: Any,
    checkpoint: str,
    config: TrainConfig,
    workdir: Path,
    seed: int,
    warmup_steps: int,
    evaluate_on: str | None,
    precision: str = "auto",
) -> dict[str, Any]:
    """Train one epoch over ``data["train"]`` with ``variant`` in ``precision`` (``train.mixed_precision``);
    return its throughput (and the metrics of the split ``evaluate_on``, if any)."""
    tokenizer = load_tokenizer(checkpoint)
    train = data["train"] if variant.pad_to is None else pad_examples(data["train"], tokenizer, variant.pad_to)
    timer = StepTimer()
    model_out = workdir / f"model-{variant.name}".replace(" ", "-")
    model_out.mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(io.StringIO()):  # the Trainer prints every log dict; the report has the figures
        train_classifier(
            train,
            data["validation"],
            checkpoint,
            # No mid-epoch checkpoints: their saving would land inside timed steps.
            replace(config, group_by_length=variant.group_by_length, checkpoint_steps=0, mixed_precision=precision),
            model_out=model_out,
            checkpoint_dir=workdir / "checkpoints",
            seed=seed,
            callbacks=[timer],
        )
    shutil.rmtree(workdir / "checkpoints", ignore_errors=True)
    result: dict[str, Any] = {
        "role": variant.role,
        "name": variant.name,
        "description": variant.description,
        "padding": f"max_length {variant.pad_to}" if variant.pad_to else "per batch",
        "order": "length-grouped" if variant.group_by_length else "random",
        "examples": len(train),
        **timer.rates(warmup_steps),
    }
    if evaluate_on:
        model = load_classifier(str(model_out))
        if torch.cuda.is_available():
            model = model.to("cuda")
        labels, probabilities = evaluate_split(model, tokenizer, data[evaluate_on], config.eval_batch_size)
        metrics = classification_metrics(labels, probabilities.argmax(axis=1))  # argmax: no decision rule
        result[evaluate_on] = {key: metrics[key] for key in ("f1_macro", "f1_weighted", "accuracy", "examples")}
    shutil.rmtree(model_out, ignore_errors=True)
    return result


def short_run_data(
    tokenized: Any, config: TrainConfig, seed: int, examples: int, warmup_steps: int, validation_examples: int
) -> tuple[dict[str, Any], TrainConfig]:
    """The examples every variant trains on (whole batches of a seeded shuffle, at most ``examples``), a small
    validation set, the test split, and the one-epoch config they train with."""
    batch = config.batch_size
    train = tokenized["train"]
    usable = min(examples, len(train)) // batch * batch  # whole batches only: every timed step has `batch` samples
    steps = usable // batch
    if steps <= warmup_steps:
        raise BenchError(
            f"{usable} training examples make {steps} steps of {batch}: need more than the {warmup_steps} warm-up steps"
        )
    data = {
        # Materialized (no index mapping), as the padded copies are: rows read equally fast in every variant.
        "train": train.shuffle(seed=seed).select(range(usable)).flatten_indices(),
        # Only used to pick the best epoch, and a one-epoch run has one: a small set keeps evaluation cheap.
        "validation": tokenized["validation"].select(range(min(validation_examples, len(tokenized["validation"])))),
        "test": tokenized["test"],
    }
    # params.yaml's warm-up is longer than this whole run: scale it to a tenth of the run.
    return data, replace(config, epochs=1, warmup_steps=max(1, steps // 10))


def first_steps(data: dict[str, Any], batch: int, steps: int) -> dict[str, Any]:
    """``data`` with its training examples cut to the first ``steps`` batches (for variants too slow to run all)."""
    return {**data, "train": data["train"].select(range(min(len(data["train"]), steps * batch)))}


def training_benchmark(
    tokenized: Any,
    checkpoint: str,
    config: TrainConfig,
    workdir: Path,
    seed: int,
    examples: int,
    warmup_steps: int,
    static_max_steps: int,
    validation_examples: int = 64,
) -> dict[str, Any]:
    """Run every variant on the same ``examples`` training examples, one epoch each.

    Static padding to the model's limit runs only ``warmup_steps + static_max_steps`` steps, on the first
    examples of the same subset: its steps all cost the same whatever the tweets, so a per-step rate needs
    few of them. The others run the whole subset; static-short and default are then scored on the test split.
    """
    data, short_run = short_run_data(tokenized, config, seed, examples, warmup_steps, validation_examples)
    batch, usable = config.batch_size, len(data["train"])
    static_max, static_short = static_lengths(checkpoint)
    rows = []
    for variant in variants(static_max, static_short):
        variant_data = data
        if variant.role == "static_max":
            variant_data = first_steps(data, batch, warmup_steps + static_max_steps)
        rows.append(
            run_variant(
                variant,
                variant_data,
                checkpoint,
                short_run,
                workdir,
                seed,
                warmup_steps,
                evaluate_on=None if variant.role == "static_max" else "test",
            )
        )
    by_role = {row["role"]: row for row in rows}
    for row in rows:
        row["default_speedup"] = round(by_role["default"]["samples_per_s"] / row["samples_per_s"], 3)
    f1 = {role: row["test"]["f1_macro"] for role, row in by_role.items() if "test" in row}
    return {
        "method": (
            "hatespeech.model.training.train_classifier (the train stage's Trainer run), one epoch per variant; "
            "a callback times each optimizer step, data loading included; the first warm-up steps are not timed"
        ),
        "batch_size": batch,
        "examples": usable,
        "warmup_steps_untimed": warmup_steps,
        "static_max_steps_timed": rows[0]["steps_timed"],
        "short_run": {
            "epochs": 1,
            "learning_rate": short_run.learning_rate,
            "scheduler_warmup_steps": short_run.warmup_steps,
            "class_weights": short_run.class_weights,
            "test_examples": len(data["test"]),
        },
        "variants": rows,
        "f1_macro_gaps": {
            # static-short and dynamic see the same batches in the same order: their gap is padding alone.
            "dynamic_vs_static_short": round(abs(f1["dynamic"] - f1["static_short"]), 6),
            # default also groups by length, so the order of the tweets differs: padding plus ordering.
            "default_vs_static_short": round(abs(f1["default"] - f1["static_short"]), 6),
        },
    }


def native_precisions() -> list[str]:
    """fp32, and bf16 where it runs in hardware (a GPU, or a CPU with AVX512-BF16 or AMX)."""
    return ["fp32", "bf16"] if torch.cuda.is_available() or cpu_has_native_bf16() else ["fp32"]


def lever_settings(config: TrainConfig, mean_tokens: float) -> list[tuple[str, dict[str, Any]]]:
    """The training rows after the default: each switches one of :mod:`hatespeech.model.acceleration`'s levers
    away from ``config``'s setting (so the rows stay meaningful whatever params.yaml picks)."""
    other = {
        "optimizer": next(o for o in OPTIMIZERS if o != config.optimizer),
        "attention": next(a for a in ATTENTIONS if a != config.attention),
        "compile": not config.compile,
        # As many tokens as a default batch of mean-length tweets holds.
        "batch_tokens": None if config.batch_tokens else max(1, round(config.batch_size * mean_tokens)),
        # No dropout masks: their random numbers are about a tenth of an fp32 step (a profile of the time).
        "dropout": 0.0 if config.dropout != 0 else None,
    }
    return [(f"{name} {yaml_value(value)}", {name: value}) for name, value in other.items()]


def yaml_value(value: Any) -> str:
    """How params.yaml spells ``value``."""
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def mean_train_tokens(data: dict[str, Any]) -> float:
    lengths = token_lengths(data["train"])
    return sum(lengths) / len(lengths)


def speed_benchmark(
    tokenized: Any,
    checkpoint: str,
    config: TrainConfig,
    workdir: Path,
    seed: int,
    examples: int,
    warmup_steps: int,
    precisions: Sequence[str],
    validation_examples: int | None = None,
) -> dict[str, Any]:
    """params.yaml's training (the first row) and one row per lever switched, at each of ``precisions``, on
    the same examples, one epoch each, beside this machine's training ceiling (:mod:`bench.ceiling`).

    Each row: steady samples/s (after ``warmup_steps``) and its share of the ceiling; the first steps'
    seconds beyond the steady rate (compilation, allocation); samples/s over the whole epoch, those first
    steps included; and the validation split's macro F1 (argmax) of the one-epoch model.
    """
    from bench.ceiling import training_ceiling

    validation_examples = validation_examples or len(tokenized["validation"])
    data, short_run = short_run_data(tokenized, config, seed, examples, warmup_steps, validation_examples)
    mean_tokens = mean_train_tokens(data)
    model = load_classifier(checkpoint, new_head=True)
    settings = [("default", {}), *lever_settings(config, mean_tokens)]
    results: dict[str, Any] = {}
    for precision in precisions:
        ceiling = training_ceiling(model, mean_tokens, config.batch_size, precision)
        rows = []
        for name, overrides in settings:
            variant = Variant(name, name, None, config.group_by_length, f"train params {overrides or 'as params.yaml'}")
            row = run_variant(
                variant,
                data,
                checkpoint,
                replace(short_run, **overrides),
                workdir,
                seed,
                warmup_steps,
                evaluate_on="validation",
                precision=precision,
            )
            row["settings"] = overrides
            row["share_of_ceiling"] = round(row["samples_per_s"] / ceiling["samples_per_s"], 3)
            rows.append(row)
        default = rows[0]
        for row in rows:
            row["vs_default"] = round(row["samples_per_s"] / default["samples_per_s"], 3)
        profile = profile_default_step(tokenized, checkpoint, config, workdir, seed, precision)
        results[precision] = {"ceiling": ceiling, "rows": rows, "default_step_profile": profile}
    speedup = None
    if {"fp32", "bf16"} <= set(results):
        speedup = round(results["bf16"]["rows"][0]["samples_per_s"] / results["fp32"]["rows"][0]["samples_per_s"], 3)
    return {
        "method": (
            "train_classifier one epoch per row on the same examples; the first row is params.yaml's train section, "
            "each other row switches one setting; ceiling: bench.ceiling.training_ceiling"
        ),
        "batch_size": config.batch_size,
        "examples": len(data["train"]),
        "mean_tokens": round(mean_tokens, 2),
        "validation_examples": len(data["validation"]),
        "warmup_steps_untimed": warmup_steps,
        "native_bf16": "bf16" in native_precisions(),
        "precisions": results,
        "bf16_speedup": speedup,
    }


# Where a training step's time goes: aten operators by name, in groups (the first pattern that matches wins).
OPERATOR_GROUPS = (
    ("matrix products (linear layers)", ("addmm", "aten::mm", "aten::bmm", "aten::matmul", "aten::linear")),
    ("attention kernel", ("attention", "sdpa")),
    ("optimizer step", ("adam", "_foreach", "clip_grad", "aten::norm", "linalg_vector_norm")),
    ("embedding gradient", ("embedding",)),
    ("dropout masks (random numbers)", ("bernoulli", "dropout")),
    ("normalization, activations, softmax", ("layer_norm", "gelu", "softmax", "tanh")),
    ("element-wise arithmetic", ("aten::add", "aten::mul", "aten::div", "aten::sub", "aten::where", "aten::masked")),
    ("copies and allocation", ("copy", "aten::to", "empty", "zero", "fill", "clone", "contiguous", "cat", "stack")),
)


def operator_group(name: str) -> str:
    lowered = name.lower()
    return next((group for group, keys in OPERATOR_GROUPS if any(k in lowered for k in keys)), "other operators")


@dataclass
class StepProfiler(TrainerCallback):
    """Profiles the operators of ``steps`` training steps after the first ``skip`` (torch.profiler, CPU)."""

    skip: int
    steps: int
    profile: Any = None
    started: float = 0.0
    wall: float = 0.0  # the profiled steps' seconds, once they are over

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step == self.skip:
            self.profile = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
            self.profile.__enter__()
            self.started = time.perf_counter()
        elif state.global_step == self.skip + self.steps and self.profile is not None:
            self.wall = time.perf_counter() - self.started
            self.profile.__exit__(None, None, None)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.profile is not None and not self.wall:  # a run shorter than planned: never leave it recording
            self.profile.__exit__(None, None, None)

    def shares(self) -> list[dict[str, Any]]:
        """Each operator group's share of the profiled steps' wall time; the rest is outside any operator
        (Python, the Trainer's bookkeeping, data loading and collation)."""
        if self.steps < 1 or not self.wall:
            raise BenchError(f"the profiled run ended before {self.skip + self.steps} steps")
        seconds: dict[str, float] = {group: 0.0 for group, _ in OPERATOR_GROUPS}
        seconds["other operators"] = 0.0
        for event in self.profile.key_averages():
            seconds[operator_group(event.key)] += event.self_cpu_time_total / 1e6
        seconds["outside operators (Python, data loading)"] = max(0.0, self.wall - sum(seconds.values()))
        return [
            {"part": part, "seconds_per_step": round(s / self.steps, 4), "share": round(s / self.wall, 3)}
            for part, s in sorted(seconds.items(), key=lambda item: -item[1])
        ]


def profile_default_step(
    tokenized: Any, checkpoint: str, config: TrainConfig, workdir: Path, seed: int, precision: str, steps: int = 10
) -> list[dict[str, Any]]:
    """Where params.yaml's training step spends its time: ``steps`` steps profiled after 3 unprofiled ones."""
    skip = 3
    data, short_run = short_run_data(tokenized, config, seed, (skip + steps) * config.batch_size, skip, 16)
    profiler = StepProfiler(skip, len(data["train"]) // config.batch_size - skip)  # fewer where data is short
    (workdir / "model-profiled").mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(io.StringIO()):
        train_classifier(
            data["train"],
            data["validation"],
            checkpoint,
            replace(short_run, checkpoint_steps=0, mixed_precision=precision),
            model_out=workdir / "model-profiled",
            checkpoint_dir=workdir / "checkpoints",
            seed=seed,
            callbacks=[profiler],
        )
    shutil.rmtree(workdir / "checkpoints", ignore_errors=True)
    shutil.rmtree(workdir / "model-profiled", ignore_errors=True)
    return profiler.shares()
