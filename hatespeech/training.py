"""Fine-tune a sequence classifier with the Hugging Face Trainer."""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hatespeech import LABELS, PipelineError
from hatespeech.data import LABEL
from hatespeech.metrics import SUMMARY_METRICS, summary_metrics
from hatespeech.modeling import load_classifier, load_tokenizer

log = logging.getLogger(__name__)

CLASS_WEIGHTS = ("none", "balanced", "sqrt")


@dataclass(frozen=True)
class TrainConfig:
    """The ``train`` section of params.yaml (defaults are the seed notebook's)."""

    epochs: float = 3
    batch_size: int = 16
    eval_batch_size: int = 64
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_steps: int = 500
    metric_for_best_model: str = "f1_macro"
    early_stopping_patience: int = 0  # evaluations without improvement before stopping; 0 = off
    class_weights: str = "none"  # none | balanced | sqrt (square root of balanced: a milder push)
    group_by_length: bool = True
    logging_steps: int = 50

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise PipelineError(f"unknown train parameter(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        try:
            # Coerce to each field's type: `batch_size: 32.0` is an int, `epochs: "2"` a float, or a clear error.
            types = {f.name: f.type for f in fields(cls)}
            config = cls(**{name: _coerce(name, value, types[name]) for name, value in params.items()})
        except (TypeError, ValueError) as exc:
            raise PipelineError(f"bad train parameter: {exc}") from exc
        config.validate()
        return config

    def validate(self) -> None:
        if self.class_weights not in CLASS_WEIGHTS:
            raise PipelineError(f"train.class_weights must be one of {CLASS_WEIGHTS}, got '{self.class_weights}'")
        if self.metric_for_best_model not in SUMMARY_METRICS:
            raise PipelineError(
                f"train.metric_for_best_model must be one of {SUMMARY_METRICS}, got '{self.metric_for_best_model}'"
            )
        for name in ("epochs", "batch_size", "eval_batch_size", "learning_rate"):
            if not getattr(self, name) > 0:
                raise PipelineError(f"train.{name} must be positive, got {getattr(self, name)}")


_FIELD_TYPES = {"float": float, "int": int, "str": str, "bool": bool}


def _coerce(name: str, value: Any, kind: str) -> Any:
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"train.{name} must be true or false, got {value!r}")
        return value
    if kind == "int":
        number = float(value)
        if not number.is_integer():
            raise ValueError(f"train.{name} must be a whole number, got {value!r}")
        return int(number)
    return _FIELD_TYPES[kind](value)


def class_weights(labels: np.ndarray, mode: str) -> torch.Tensor | None:
    """Per-class loss weights: ``balanced`` is n / (k * count_c), as in scikit-learn; ``sqrt`` its square root."""
    if mode == "none":
        return None
    counts = np.bincount(labels, minlength=len(LABELS)).astype(np.float64)
    if (counts == 0).any():
        missing = [LABELS[i] for i in np.flatnonzero(counts == 0)]
        raise PipelineError(f"cannot weight classes absent from the training data: {', '.join(missing)}")
    weights = counts.sum() / (len(LABELS) * counts)
    if mode == "sqrt":
        weights = np.sqrt(weights)
    return torch.tensor(weights, dtype=torch.float32)


def weighted_loss(weights: torch.Tensor):
    """A Trainer ``compute_loss_func``: class-weighted cross-entropy, normalized like the built-in loss."""

    def compute(outputs: Any, labels: torch.Tensor, num_items_in_batch: int | torch.Tensor | None = None) -> torch.Tensor:
        logits = outputs["logits"] if isinstance(outputs, dict) else outputs[0]
        losses = torch.nn.functional.cross_entropy(
            logits.float(), labels, weight=weights.to(logits.device), reduction="none"
        )
        # The Trainer expects a sum over the whole (accumulated) batch divided by its item count.
        denominator = num_items_in_batch if num_items_in_batch is not None else labels.numel()
        return losses.sum() / denominator

    return compute


def compute_metrics(eval_prediction: Any) -> dict[str, float]:
    logits, labels = eval_prediction
    return summary_metrics(np.asarray(labels), np.asarray(logits).argmax(axis=-1))


def _mixed_precision() -> dict[str, bool]:
    if not torch.cuda.is_available():
        return {}
    return {"bf16": True} if torch.cuda.is_bf16_supported() else {"fp16": True}


@dataclass
class TrainResult:
    best_metric: float | None
    best_epoch: float | None
    epochs_run: float
    train_samples_per_second: float


def train_classifier(
    tokenized: Any,
    checkpoint: str,
    config: TrainConfig,
    model_out: Path,
    checkpoint_dir: Path,
    seed: int,
    callbacks: list[Any] = (),
) -> TrainResult:
    """Fine-tune ``checkpoint`` on ``tokenized["train"]``, pick the best epoch on ``tokenized["validation"]``,
    and save model + tokenizer (safetensors) to ``model_out``."""
    from transformers import DataCollatorWithPadding, EarlyStoppingCallback, Trainer, TrainingArguments, set_seed

    set_seed(seed)  # first: the new classification head is initialized from it
    tokenizer = load_tokenizer(checkpoint)
    model = load_classifier(checkpoint, new_head=True)
    weights = class_weights(np.asarray(tokenized["train"][LABEL]), config.class_weights)
    if weights is not None:
        log.info("class weights (%s): %s", config.class_weights, dict(zip(LABELS, weights.tolist())))

    args = TrainingArguments(
        output_dir=str(checkpoint_dir),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.eval_batch_size,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_steps,
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=2,
        load_best_model_at_end=True,
        metric_for_best_model=config.metric_for_best_model,
        greater_is_better=True,
        logging_strategy="steps",
        logging_steps=config.logging_steps,
        train_sampling_strategy="group_by_length" if config.group_by_length else "random",
        seed=seed,
        data_seed=seed,
        report_to="none",
        **_mixed_precision(),
    )
    all_callbacks = list(callbacks)
    if config.early_stopping_patience > 0:
        all_callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience))
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=tokenized["train"],
        eval_dataset=tokenized["validation"],
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=compute_metrics,
        compute_loss_func=weighted_loss(weights) if weights is not None else None,
        callbacks=all_callbacks,
    )
    output = trainer.train()
    trainer.save_model(str(model_out))  # the best epoch's weights, as safetensors, plus the tokenizer
    # save_model also pickles the TrainingArguments; ship them as JSON so loading never unpickles anything.
    (model_out / "training_args.bin").unlink(missing_ok=True)
    (model_out / "training_args.json").write_text(args.to_json_string() + "\n", encoding="utf-8")

    best_epoch = next(
        (
            entry["epoch"]
            for entry in trainer.state.log_history
            if entry.get(f"eval_{config.metric_for_best_model}") == trainer.state.best_metric
        ),
        None,
    )
    return TrainResult(
        best_metric=trainer.state.best_metric,
        best_epoch=round(best_epoch, 2) if best_epoch is not None else None,
        epochs_run=float(trainer.state.epoch or 0),
        train_samples_per_second=float(output.metrics.get("train_samples_per_second", 0.0)),
    )
