"""The training loss: per-class weights, per-row sample weights, cross-entropy against hard or soft labels, label
smoothing and the focal loss, as a Trainer ``compute_loss_func``."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch

from hatespeech import LABEL, LABELS, WEIGHT, PipelineError
from hatespeech.data.sources import vote_shares

ClassWeighting = Literal["none", "balanced", "sqrt"]


def class_weights(labels: np.ndarray, mode: ClassWeighting) -> torch.Tensor | None:
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


def classification_loss(weights: torch.Tensor | None, focal_gamma: float = 0.0, label_smoothing: float = 0.0):
    """A Trainer ``compute_loss_func``: cross-entropy, optionally class-weighted, against hard labels
    (class ids) or soft labels (rows of class probabilities), normalized like the built-in loss.

    ``label_smoothing`` mixes each target with the uniform distribution; ``focal_gamma`` > 0 makes it the focal
    loss of Lin et al. (2017): each class term is scaled by (1 - p)^gamma, so confidently right examples (most
    of them offensive tweets) count less and the hard ones, hate speech among them, count more.
    """

    def compute(
        outputs: Any, labels: torch.Tensor, num_items_in_batch: int | torch.Tensor | None = None
    ) -> torch.Tensor:
        logits = outputs["logits"] if isinstance(outputs, dict) else outputs[0]
        classes = logits.shape[-1]
        log_probs = torch.nn.functional.log_softmax(logits.float(), dim=-1)
        soft = labels.dim() == 2
        targets = labels.float() if soft else torch.nn.functional.one_hot(labels, classes).float()
        if label_smoothing:  # of each row's distribution; a sample weight (the row's sum) stays its factor
            mass = targets.sum(dim=-1, keepdim=True)
            targets = (targets / mass * (1 - label_smoothing) + label_smoothing / classes) * mass
        if weights is not None:
            targets = targets * weights.to(logits.device)
        if focal_gamma:
            log_probs = log_probs * (1 - log_probs.exp()) ** focal_gamma
        losses = -(targets * log_probs).sum(dim=-1)
        # The Trainer expects a sum over the whole (accumulated) batch divided by its item count; it counts
        # the non-ignored label entries, which for soft labels is one per class.
        denominator: Any
        if num_items_in_batch is None:
            denominator = labels.shape[0]
        else:
            denominator = num_items_in_batch / classes if soft else num_items_in_batch
        return losses.sum() / denominator

    return compute


def with_sample_weights(dataset: Any) -> Any:
    """Fold a :data:`~hatespeech.WEIGHT` column into the labels: each becomes its one-hot (or vote-share) row
    times its weight, which :func:`classification_loss` turns into that many times its loss. Unchanged without one."""
    if WEIGHT not in dataset.column_names:
        return dataset
    weights = np.asarray(dataset[WEIGHT], dtype=np.float32)[:, None]
    labels = dataset[LABEL]
    rows = np.asarray(labels, dtype=np.float32) if np.ndim(labels[0]) else np.eye(len(LABELS), dtype=np.float32)[labels]
    weighted = dataset.add_column("weighted_label", (rows * weights).tolist())
    return weighted.remove_columns([LABEL, WEIGHT]).rename_column("weighted_label", LABEL)


def with_soft_labels(dataset: Any) -> Any:
    """Replace each example's label by its annotators' vote shares (the hard label where no votes are recorded)."""
    try:
        shares = vote_shares(dataset)
    except PipelineError as exc:
        raise PipelineError(f"train.soft_labels needs the vote counts ({exc}): rerun the tokenize stage") from None
    return dataset.remove_columns(LABEL).add_column(LABEL, shares.astype(np.float32).tolist())
