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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

from bench.errors import BenchError
from hatespeech.metrics import classification_metrics
from hatespeech.model.inference import evaluate_split
from hatespeech.model.loading import load_classifier, load_tokenizer
from hatespeech.model.precision import cpu_has_native_bf16
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
    _hook: Any = None

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
        return {
            "steps_timed": steps - warmup_steps,
            "samples": samples,
            "seconds": round(seconds, 3),
            "samples_per_s": round(samples / seconds, 3),
            "real_tokens_per_s": round(real / seconds, 1),
            "padded_tokens_per_s": round(padded / seconds, 1),
            "mean_padded_length": round(padded / samples, 2),
            "padding_share": round(1 - real / padded, 4),  # of the tokens computed, the share that is padding
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
    evaluate_test: bool,
    precision: str = "auto",
) -> dict[str, Any]:
    """Train one epoch over ``data["train"]`` with ``variant`` in ``precision`` (``train.mixed_precision``);
    return its throughput (and test metrics)."""
    tokenizer = load_tokenizer(checkpoint)
    train = data["train"] if variant.pad_to is None else pad_examples(data["train"], tokenizer, variant.pad_to)
    timer = StepTimer()
    model_out = workdir / f"model-{variant.name}"
    model_out.mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(io.StringIO()):  # the Trainer prints every log dict; the report has the figures
        train_classifier(
            train,
            data["validation"],
            checkpoint,
            # No mid-epoch checkpoints: their saving would land inside timed steps.
            replace(config, group_by_length=variant.group_by_length, checkpoint_steps=0, mixed_precision=precision),
            model_out=model_out,
            checkpoint_dir=workdir / f"checkpoints-{variant.name}",
            seed=seed,
            callbacks=[timer],
        )
    shutil.rmtree(workdir / f"checkpoints-{variant.name}", ignore_errors=True)
    result: dict[str, Any] = {
        "role": variant.role,
        "name": variant.name,
        "description": variant.description,
        "padding": f"max_length {variant.pad_to}" if variant.pad_to else "per batch",
        "order": "length-grouped" if variant.group_by_length else "random",
        "examples": len(train),
        **timer.rates(warmup_steps),
    }
    if evaluate_test:
        model = load_classifier(str(model_out))
        if torch.cuda.is_available():
            model = model.to("cuda")
        labels, probabilities = evaluate_split(model, tokenizer, data["test"], config.eval_batch_size)
        metrics = classification_metrics(labels, probabilities.argmax(axis=1))  # argmax: no decision rule
        result["test"] = {key: metrics[key] for key in ("f1_macro", "f1_weighted", "accuracy", "examples")}
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
                evaluate_test=variant.role != "static_max",
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


def precision_benchmark(
    tokenized: Any,
    checkpoint: str,
    config: TrainConfig,
    workdir: Path,
    seed: int,
    examples: int,
    warmup_steps: int,
    emulated_steps: int,
    validation_examples: int = 64,
) -> dict[str, Any]:
    """The default variant trained in fp32 and with bf16 autocast, on the same batches, one epoch each.

    Where the CPU lacks bf16 hardware (no AVX512-BF16 or AMX, and no GPU) bf16 is emulated and many times
    slower: it then runs only ``warmup_steps + emulated_steps`` steps, enough for a rate, and no test score.
    """
    data, short_run = short_run_data(tokenized, config, seed, examples, warmup_steps, validation_examples)
    batch, usable = config.batch_size, len(data["train"])
    native = torch.cuda.is_available() or cpu_has_native_bf16()
    rows = []
    for precision in ("fp32", "bf16"):
        variant = Variant(precision, f"default-{precision}", None, True, f"params.yaml's batching, {precision}")
        variant_data = data
        if precision == "bf16" and not native:
            variant_data = first_steps(data, batch, warmup_steps + emulated_steps)
        row = run_variant(
            variant,
            variant_data,
            checkpoint,
            short_run,
            workdir,
            seed,
            warmup_steps,
            evaluate_test=native or precision == "fp32",
            precision=precision,
        )
        rows.append(row)
    fp32, bf16 = rows
    return {
        "method": "train_classifier with train.mixed_precision fp32, then bf16 (autocast), same examples and order",
        "native_bf16": native,
        "batch_size": batch,
        "examples": usable,
        "rows": rows,
        "bf16_speedup": round(bf16["samples_per_s"] / fp32["samples_per_s"], 3),
        "f1_macro_difference": (
            round(bf16["test"]["f1_macro"] - fp32["test"]["f1_macro"], 6) if "test" in bf16 else None
        ),
    }
