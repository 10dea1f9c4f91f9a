"""An ensemble of the transformer and the baseline: a weighted average of their class probabilities, the
weight chosen on the validation split only (the test split is scored once, after the choice)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hatespeech import TEXT, PipelineError
from hatespeech.config import PARAMS_YAML, Section
from hatespeech.data.text import text_id
from hatespeech.metrics import rounded, summary_metrics


@dataclass(frozen=True)
class EnsembleConfig(Section):
    """params.yaml's ``ensemble`` section."""

    SECTION = "ensemble"

    weight_step: float = PARAMS_YAML

    def validate(self) -> None:
        if not 0 < self.weight_step <= 1:
            raise PipelineError(f"ensemble.weight_step must be in (0, 1], got {self.weight_step}")

    def weights(self) -> np.ndarray:
        steps = round(1 / self.weight_step)
        return np.linspace(0.0, 1.0, steps + 1)


@dataclass(frozen=True)
class WeightChoice:
    """The transformer's weight in the average, and the validation macro F1 (argmax) of every weight tried."""

    transformer_weight: float
    validation_f1_macro: dict[float, float]

    def to_json(self) -> dict[str, Any]:
        scores = self.validation_f1_macro
        best = scores[self.transformer_weight]
        return {
            "transformer_weight": self.transformer_weight,
            "validation_f1_macro": rounded(best),
            "validation_f1_macro_transformer": rounded(scores[1.0]),
            "validation_f1_macro_baseline": rounded(scores[0.0]),
            "validation_gain_over_transformer": rounded(best - scores[1.0]),
            # Weight 1 is the transformer alone: the ensemble is kept only where validation prefers a mixture.
            "kept": self.transformer_weight < 1.0,
            "tried": [{"transformer_weight": w, "f1_macro": rounded(f1)} for w, f1 in scores.items()],
        }


def combine(transformer: np.ndarray, baseline: np.ndarray, transformer_weight: float) -> np.ndarray:
    return transformer_weight * transformer + (1 - transformer_weight) * baseline


def choose_weight(
    labels: np.ndarray, transformer: np.ndarray, baseline: np.ndarray, config: EnsembleConfig
) -> WeightChoice:
    """The weight with the best validation macro F1 under argmax; ties go to the larger transformer weight
    (the simpler model: at weight 1 the baseline is not needed)."""
    scores = {
        rounded(w): summary_metrics(labels, combine(transformer, baseline, w).argmax(axis=1))["f1_macro"]
        for w in config.weights()
    }
    best = max(scores.values())
    return WeightChoice(max(w for w, f1 in scores.items() if f1 == best), scores)


def check_rows(predictions: pd.DataFrame, texts: pd.DataFrame, source: str) -> None:
    """The predictions table holds ``texts``' tweets, in their order (both models scored the same split)."""
    expected = texts[TEXT].map(text_id).to_numpy()
    if len(predictions) != len(expected) or not np.array_equal(predictions["text_id"].to_numpy(), expected):
        raise PipelineError(
            f"{source} does not hold the split's tweets in order ({len(predictions)} rows, split has "
            f"{len(expected)}): rerun the stage that wrote it"
        )
