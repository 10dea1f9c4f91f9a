"""What a training step costs on this machine, measured: a few real Trainer steps (params.yaml's model, batch,
precision, optimizer and threads) on real texts, fitted as a fixed cost per step plus a cost per padded token.
`make run`'s preflight turns it into the train stage's expected duration (docs/performance.md, "What the
estimate uses"), so the estimate follows the CPU it runs on instead of a constant measured on another one.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import TrainerCallback
from transformers.trainer_callback import PrinterCallback

from hatespeech import LABEL
from hatespeech.model.training import (
    EvaluationLogits,
    TrainConfig,
    TrainerParts,
    build_trainer,
    load_for_training,
    training_arguments,
)

EVALUATION_COST = 1 / 3  # a forward pass costs about a third of a training step's forward + backward + update


@dataclass(frozen=True)
class StepCost:
    """Seconds per optimizer step: ``per_step`` + ``per_token`` x the batch's padded tokens."""

    per_step: float
    per_token: float
    load_seconds: float  # loading the model and tokenizer, once per stage
    step_tokens: tuple[int, ...] = ()  # each step's padded tokens, every pass: the passes repeat the same batches

    def train_seconds(self, steps: int, tokens: float) -> float:
        return steps * self.per_step + tokens * self.per_token

    def forward_seconds(self, tokens: float) -> float:
        return tokens * self.per_token * EVALUATION_COST


class StepClock(TrainerCallback):
    """When each optimizer step ends, and each training batch's padded tokens (one forward per step)."""

    def __init__(self) -> None:
        self.ends: list[float] = []
        self.tokens: list[int] = []
        self._hook: Any = None

    def _count(self, module: torch.nn.Module, args: tuple, kwargs: dict) -> None:
        if module.training:
            self.tokens.append(int(kwargs["input_ids"].numel()))

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        self._hook = model.register_forward_pre_hook(self._count, with_kwargs=True)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.ends.append(time.perf_counter())

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._hook is not None:
            self._hook.remove()


def fit_step_cost(tokens: list[int], seconds: list[float]) -> tuple[float, float]:
    """Least squares of seconds = per_step + per_token x tokens over the timed steps; where the steps' lengths are
    too alike (or the fit is noisy enough to go negative), all the time is charged per token."""
    x, y = np.asarray(tokens, dtype=float), np.asarray(seconds, dtype=float)
    if len(x) >= 3 and np.ptp(x) > 0.2 * x.mean():
        per_token, per_step = np.polyfit(x, y, 1)
        if per_token > 0 and per_step >= 0:
            return float(per_step), float(per_token)
    return 0.0, float(y.sum() / x.sum())


def measure_step_cost(
    dataset: Any, checkpoint: str, config: TrainConfig, workdir: Path, seed: int, passes: int = 2
) -> StepCost:
    """Train ``checkpoint`` on ``dataset`` (tokenized rows with labels) ``passes`` times over, in order, as the
    train stage would, and fit the last pass's steps. The passes before it warm up: the first steps allocate, and
    each new padded length makes the CPU kernels build code for that shape (with bf16 on AMX, timing one pass put
    the estimate at 1.30x the train stage), which the train stage's ~1,500 steps pay once per length."""
    from datasets import concatenate_datasets

    started = time.perf_counter()
    tokenizer, model = load_for_training(checkpoint, config, None)
    load_seconds = time.perf_counter() - started
    steps = len(dataset) // config.batch_size
    warmup = steps * (passes - 1) if passes > 1 else 2  # one pass only: its first two steps warm up
    if passes < 1 or steps * passes - warmup < 3:
        raise ValueError(f"{len(dataset)} rows make {steps} steps of {config.batch_size}: too few to time 3")
    rows = dataset.select(range(steps * config.batch_size))  # whole batches: each pass repeats the same ones
    args = dataclasses.replace(
        training_arguments(config, workdir, seed),
        max_steps=steps * passes,
        warmup_steps=0,
        eval_strategy="no",
        save_strategy="no",
        load_best_model_at_end=False,
        logging_strategy="no",
        disable_tqdm=True,
        train_sampling_strategy="sequential",
    )
    clock = StepClock()
    quiet = dataclasses.replace(config, checkpoint_steps=0, early_stopping_patience=0)
    repeated = concatenate_datasets([rows] * passes)
    parts = TrainerParts(model, tokenizer, args, repeated, rows.select(range(1)), None, EvaluationLogits())
    trainer = build_trainer(parts, quiet, [clock], seed)
    trainer.remove_callback(PrinterCallback)  # the run's summary line is not the estimate's to print
    trainer.train()
    seconds = np.diff(clock.ends)[warmup - 1 :].tolist()  # step i's time: from step i - 1's end to its own
    per_step, per_token = fit_step_cost(clock.tokens[warmup:], seconds)
    return StepCost(per_step, per_token, load_seconds, tuple(clock.tokens))


def labelled(texts: list[str], labels: list[int], tokenizer: Any, max_length: int) -> Any:
    """``texts`` tokenized as the tokenize stage does (truncated, unpadded), with their labels."""
    from datasets import Dataset

    encoded = tokenizer(texts, truncation=True, max_length=max_length)
    return Dataset.from_dict({**encoded, LABEL: labels})
