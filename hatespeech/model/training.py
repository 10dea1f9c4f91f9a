"""Fine-tune a sequence classifier with the Hugging Face Trainer: the ``train`` params and the run itself (loss:
:mod:`~hatespeech.model.losses`, precision: :mod:`~hatespeech.model.precision`, kernels and batching:
:mod:`~hatespeech.model.acceleration`, resuming: :mod:`~hatespeech.model.checkpoints`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hatespeech import LABEL, LABELS, PipelineError
from hatespeech.config import PARAMS_YAML, Section
from hatespeech.metrics import SummaryMetric, summary_metrics
from hatespeech.model.acceleration import Attention, Optimizer, compile_in_place, token_budget_trainer
from hatespeech.model.checkpoints import checkpoint_callbacks
from hatespeech.model.decision import DecisionRule, RuleConfig, fit_decision_rule, softmax
from hatespeech.model.distributed import Launcher, world_size
from hatespeech.model.loading import load_classifier, load_tokenizer
from hatespeech.model.losses import (
    ClassWeighting,
    class_weights,
    classification_loss,
    with_sample_weights,
    with_soft_labels,
)
from hatespeech.model.precision import TRAINING_PRECISIONS, trainer_precision_args
from hatespeech.model.tokenization import token_lengths

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig(Section):
    """The ``train`` section of params.yaml (the seed notebook's setting is profiles/seed-bert-base.yaml)."""

    SECTION = "train"

    epochs: float = PARAMS_YAML
    batch_size: int = PARAMS_YAML
    eval_batch_size: int = PARAMS_YAML
    learning_rate: float = PARAMS_YAML
    weight_decay: float = PARAMS_YAML
    warmup_steps: int = PARAMS_YAML
    metric_for_best_model: SummaryMetric = PARAMS_YAML
    early_stopping_patience: int = PARAMS_YAML
    class_weights: ClassWeighting = PARAMS_YAML
    group_by_length: bool = PARAMS_YAML
    logging_steps: int = PARAMS_YAML
    gradient_accumulation_steps: int = PARAMS_YAML
    # Checked in validate(), not a Literal: the benchmark (bench/throughput.py) sets it from a list of str.
    mixed_precision: str = PARAMS_YAML
    nproc: int = PARAMS_YAML
    launcher: Launcher = PARAMS_YAML
    soft_labels: bool = PARAMS_YAML
    focal_gamma: float = PARAMS_YAML
    label_smoothing: float = PARAMS_YAML
    checkpoint_steps: int = PARAMS_YAML
    keep_checkpoints: bool = PARAMS_YAML
    threads: int | None = PARAMS_YAML
    attention: Attention = PARAMS_YAML
    optimizer: Optimizer = PARAMS_YAML
    compile: bool = PARAMS_YAML
    batch_tokens: int | None = PARAMS_YAML
    dropout: float | None = PARAMS_YAML

    def per_device_batch_size(self, processes: int) -> int:
        """``batch_size`` is the global batch (all processes, all accumulation steps), as in a one-process run."""
        per_device, rest = divmod(self.batch_size, processes * self.gradient_accumulation_steps)
        if rest or not per_device:
            raise PipelineError(
                f"train.batch_size {self.batch_size} is the global batch: it must be a multiple of the number of "
                f"processes ({processes}) times train.gradient_accumulation_steps ({self.gradient_accumulation_steps})"
            )
        return per_device

    def validate(self) -> None:
        if self.mixed_precision not in TRAINING_PRECISIONS:
            raise PipelineError(
                f"train.mixed_precision must be one of {', '.join(TRAINING_PRECISIONS)}, got '{self.mixed_precision}'"
            )
        for name in ("epochs", "batch_size", "eval_batch_size", "learning_rate"):
            if not getattr(self, name) > 0:
                raise PipelineError(f"train.{name} must be positive, got {getattr(self, name)}")
        for name in ("nproc", "gradient_accumulation_steps"):
            if getattr(self, name) < 1:
                raise PipelineError(f"train.{name} must be at least 1, got {getattr(self, name)}")
        self.per_device_batch_size(self.nproc)
        if self.threads is not None and self.threads < 1:
            raise PipelineError(
                f"train.threads must be at least 1 (or null: chosen from the free cores), got {self.threads}"
            )
        if self.focal_gamma < 0:
            raise PipelineError(f"train.focal_gamma must be 0 (cross-entropy) or more, got {self.focal_gamma}")
        if not 0 <= self.label_smoothing < 1:
            raise PipelineError(f"train.label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise PipelineError(f"train.dropout must be in [0, 1) (or null: the checkpoint's), got {self.dropout}")
        if self.batch_tokens is not None:
            if self.batch_tokens < 1:
                raise PipelineError(f"train.batch_tokens must be at least 1 (or null), got {self.batch_tokens}")
            if self.nproc > 1:
                raise PipelineError("train.batch_tokens works on one process: set train.nproc 1 or batch_tokens null")
        if self.checkpoint_steps < 0:
            raise PipelineError(f"train.checkpoint_steps must be 0 or more, got {self.checkpoint_steps}")


class EvaluationLogits:
    """The Trainer's ``compute_metrics`` that also keeps each evaluation's logits and labels by step, so the
    decision rule is fitted on the kept epoch's validation logits without scoring the split once more."""

    def __init__(self) -> None:
        self.latest: tuple[np.ndarray, np.ndarray] | None = None
        self.by_step: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __call__(self, eval_prediction: Any) -> dict[str, float]:
        logits, labels = np.asarray(eval_prediction.predictions), np.asarray(eval_prediction.label_ids)
        self.latest = (logits, labels)
        return summary_metrics(labels, logits.argmax(axis=-1))

    def callback(self) -> Any:
        from transformers import TrainerCallback

        record = self

        class RecordStep(TrainerCallback):
            def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                if record.latest is not None:
                    record.by_step[state.global_step] = record.latest
                    record.latest = None

        return RecordStep()


def by_length(dataset: Any) -> Any:
    """``dataset`` sorted by token count. With ``group_by_length`` the Trainer already groups evaluation batches by
    length; without it, it evaluates in the dataset's order, and sorted batches then pad to nearly nothing
    (their order does not change a metric)."""
    return dataset.select(np.argsort(token_lengths(dataset), kind="stable"))


@dataclass
class TrainResult:
    best_metric: float | None
    best_epoch: float | None
    epochs_run: float
    train_samples_per_second: float
    decision_rule: DecisionRule
    resumed_from: str | None  # the checkpoint this run continued from, if any
    log_history: list[dict[str, float]]


def train_classifier(
    train_set: Any,
    validation_set: Any,
    checkpoint: str,
    config: TrainConfig,
    model_out: Path,
    checkpoint_dir: Path,
    seed: int,
    rule_config: RuleConfig | None = None,
    resume_from: Path | None = None,
    callbacks: Sequence[Any] = (),
    max_length: int | None = None,
) -> TrainResult:
    """Fine-tune ``checkpoint`` on ``train_set``, keep the best epoch on ``validation_set``, fit the decision
    rule on ``validation_set``, and save model + tokenizer (safetensors) + rule to ``model_out``.

    ``resume_from`` is a checkpoint in ``checkpoint_dir`` (see :func:`prepare_checkpoints`) to continue from;
    ``callbacks`` are extra Trainer callbacks (the benchmark's step timer). ``max_length`` is the truncation
    length the examples were tokenized with: the saved tokenizer records it as its ``model_max_length``, so
    everything that loads the model directory (predict, the service, ``transformers.pipeline``, export)
    truncates where training and evaluation did.
    Under torchrun every process calls this; only the main one saves. The test split is never an argument:
    nothing here can look at it.
    """
    from transformers import set_seed

    set_seed(seed)  # first: the new classification head is initialized from it
    tokenizer, model = load_for_training(checkpoint, config, max_length)
    validation_set = by_length(validation_set)
    weights = logged_class_weights(train_set, config)
    if config.soft_labels:
        train_set = with_soft_labels(train_set)
    train_set = with_sample_weights(train_set)  # a fairness mitigation's weights, where augment set them
    if resume_from is not None:
        log.info("resuming from %s", resume_from)
    args = training_arguments(config, checkpoint_dir, seed)
    evaluation = EvaluationLogits()
    trainer = build_trainer(
        TrainerParts(model, tokenizer, args, train_set, validation_set, weights, evaluation),
        config,
        callbacks,
        seed,
    )
    output = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    rule = fit_rule(*kept_validation_logits(trainer, evaluation, validation_set), rule_config or RuleConfig())
    if trainer.is_world_process_zero():
        save_trained(trainer, args, rule, model_out)
    return TrainResult(
        best_metric=trainer.state.best_metric,
        best_epoch=best_epoch(trainer.state, config.metric_for_best_model),
        epochs_run=float(trainer.state.epoch or 0),
        train_samples_per_second=float(output.metrics.get("train_samples_per_second", 0.0)),
        decision_rule=rule,
        resumed_from=resume_from.name if resume_from else None,
        log_history=list(trainer.state.log_history),
    )


def load_for_training(checkpoint: str, config: TrainConfig, max_length: int | None) -> tuple[Any, Any]:
    """The tokenizer (recording ``max_length``) and the model with a new classification head, compiled if asked."""
    tokenizer = load_tokenizer(checkpoint)
    if max_length is not None:
        tokenizer.model_max_length = max_length
    model = load_classifier(checkpoint, new_head=True, attention=config.attention, dropout=config.dropout)
    if config.compile:
        compile_in_place(model)
    return tokenizer, model


def logged_class_weights(train_set: Any, config: TrainConfig) -> torch.Tensor | None:
    """The loss's per-class weights from the training labels (None: unweighted), logged as they are used."""
    weights = class_weights(np.asarray(train_set[LABEL]), config.class_weights)
    if weights is not None:
        log.info("class weights (%s): %s", config.class_weights, dict(zip(LABELS, weights.tolist())))
    return weights


def training_arguments(config: TrainConfig, checkpoint_dir: Path, seed: int) -> Any:
    """The Trainer's arguments: an evaluation and a checkpoint each epoch, the best epoch kept at the end."""
    from transformers import TrainingArguments

    processes = world_size()
    log.info(
        "training on %d process(es): global batch %d = %d per device x %d accumulation step(s) x %d",
        processes,
        config.batch_size,
        config.per_device_batch_size(processes),
        config.gradient_accumulation_steps,
        processes,
    )
    return TrainingArguments(
        output_dir=str(checkpoint_dir),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.per_device_batch_size(world_size()),
        gradient_accumulation_steps=config.gradient_accumulation_steps,
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
        dataloader_pin_memory=torch.cuda.is_available(),
        optim=config.optimizer,
        **trainer_precision_args(config.mixed_precision),
    )


@dataclass(frozen=True)
class TrainerParts:
    """What a Trainer is built from, ready: the model, its tokenizer and arguments, the two splits, the loss's
    class weights and the evaluation that keeps the validation logits."""

    model: Any
    tokenizer: Any
    args: Any
    train_set: Any
    validation_set: Any
    weights: torch.Tensor | None
    evaluation: EvaluationLogits


def build_trainer(parts: TrainerParts, config: TrainConfig, callbacks: Sequence[Any], seed: int) -> Any:
    """The Trainer (a token-budget one with ``batch_tokens``), its loss and callbacks set from ``config``."""
    from transformers import DataCollatorWithPadding, EarlyStoppingCallback, Trainer

    all_callbacks = [*checkpoint_callbacks(config.checkpoint_steps), *callbacks]
    if config.early_stopping_patience > 0:
        all_callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience))
    trainer_class = Trainer
    if config.batch_tokens is not None:
        trainer_class = token_budget_trainer(Trainer, config.batch_tokens, token_lengths(parts.train_set), seed)
    all_callbacks.append(parts.evaluation.callback())
    return trainer_class(
        model=parts.model,
        args=parts.args,
        train_dataset=parts.train_set,
        eval_dataset=parts.validation_set,
        processing_class=parts.tokenizer,
        data_collator=DataCollatorWithPadding(parts.tokenizer),
        compute_metrics=parts.evaluation,
        compute_loss_func=loss_function(parts.weights, config, label_rows=np.ndim(parts.train_set[0][LABEL]) > 0),
        callbacks=all_callbacks,
    )


def loss_function(weights: torch.Tensor | None, config: TrainConfig, label_rows: bool = False) -> Any:
    """Our loss where the run needs one; None leaves the Trainer's built-in cross-entropy."""
    # Label rows (soft labels, sample weights) need it too: the built-in loss would read them as multi-label targets.
    if weights is not None or label_rows or config.soft_labels or config.focal_gamma or config.label_smoothing:
        return classification_loss(weights, config.focal_gamma, config.label_smoothing)
    return None


def kept_validation_logits(
    trainer: Any, evaluation: EvaluationLogits, validation_set: Any
) -> tuple[np.ndarray, np.ndarray]:
    """The kept epoch's validation logits, with their labels from the same pass; scored again only when that
    evaluation ran before a resume (its logits were not kept)."""
    kept = evaluation.by_step.get(trainer.state.best_global_step or -1)
    if kept is None:
        validation = trainer.predict(validation_set)
        kept = (np.asarray(validation.predictions), np.asarray(validation.label_ids))
    return kept


def fit_rule(logits: np.ndarray, labels: np.ndarray, rule_config: RuleConfig) -> DecisionRule:
    rule = fit_decision_rule(softmax(logits), labels, rule_config)
    log.info("decision rule (%s) on validation macro F1: %.4f -> %.4f", rule.kind, rule.before, rule.after)
    return rule


def save_trained(trainer: Any, args: Any, rule: DecisionRule, model_out: Path) -> None:
    """The best epoch's weights, as safetensors, plus the tokenizer, the arguments and the decision rule."""
    trainer.save_model(str(model_out))
    # save_model also pickles the TrainingArguments; ship them as JSON so loading never unpickles anything.
    (model_out / "training_args.bin").unlink(missing_ok=True)
    (model_out / "training_args.json").write_text(args.to_json_string() + "\n", encoding="utf-8")
    rule.save(model_out)


def best_epoch(state: Any, metric: str) -> float | None:
    """The epoch whose evaluation scored the best ``metric`` (2 decimals), None before any evaluation."""
    epoch = next(
        (entry["epoch"] for entry in state.log_history if entry.get(f"eval_{metric}") == state.best_metric),
        None,
    )
    return round(epoch, 2) if epoch is not None else None
