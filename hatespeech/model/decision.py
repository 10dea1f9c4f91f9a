"""Decision rules: how class probabilities become a label.

``argmax`` is the plain rule. ``offsets`` adds a per-class offset to the log-probabilities before the
argmax (equivalently, to the logits); the offsets are chosen on the validation split to maximise macro F1,
which lifts the rare, noisy hate class without retraining. The rule is saved next to the model
(``decision_rule.json``) and applied by evaluate, predict and the service alike.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from hatespeech import LABELS, PipelineError
from hatespeech.config import PARAMS_YAML, Section
from hatespeech.io import read_json, write_json
from hatespeech.metrics import macro_f1, rounded
from hatespeech.paths import RULE_FILE

RuleKind = Literal["argmax", "offsets"]


@dataclass(frozen=True)
class RuleConfig(Section):
    """The ``decision_rule`` section of params.yaml."""

    SECTION = "decision_rule"

    kind: RuleKind = PARAMS_YAML
    max_offset: float = PARAMS_YAML
    step: float = PARAMS_YAML

    def validate(self) -> None:
        if not (self.step > 0 and self.max_offset >= 0):
            raise PipelineError("decision_rule.step must be positive and decision_rule.max_offset not negative")


@dataclass(frozen=True)
class DecisionRule:
    """Per-class offsets added to log-probabilities (all zero: plain argmax), plus how they were fitted."""

    offsets: dict[str, float] = field(default_factory=lambda: {name: 0.0 for name in LABELS})
    kind: str = "argmax"
    fitted_on: str | None = None  # the split the offsets were chosen on: always "validation"
    examples: int = 0
    objective: str = "f1_macro"
    before: float | None = None  # the objective on that split with argmax ...
    after: float | None = None  # ... and with the offsets

    def vector(self, labels: Sequence[str] = LABELS) -> np.ndarray:
        missing = sorted(set(labels) - set(self.offsets))
        if missing:
            raise PipelineError(f"the decision rule has no offset for class(es) {', '.join(missing)}")
        return np.array([self.offsets[name] for name in labels], dtype=np.float64)

    def predict(self, probabilities: np.ndarray, labels: Sequence[str] = LABELS) -> np.ndarray:
        """Class ids for rows of class probabilities (columns in ``labels`` order)."""
        return (_log(probabilities) + self.vector(labels)).argmax(axis=1)

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / RULE_FILE
        write_json(path, asdict(self))
        return path

    @classmethod
    def load(cls, directory: str | Path) -> DecisionRule:
        """The rule saved with a model; a model directory without one uses plain argmax."""
        path = Path(directory) / RULE_FILE
        data = read_json(path, "a model's decision rule", missing_ok=True)
        if data is None:
            return cls()
        try:
            rule = cls(**data)
            offsets = {str(k): float(v) for k, v in rule.offsets.items()}
        except (ValueError, TypeError, AttributeError) as exc:
            raise PipelineError(f"{path} is not a valid decision rule: {exc}") from exc
        return cls(**{**asdict(rule), "offsets": offsets})


def softmax(logits: np.ndarray) -> np.ndarray:
    """Class probabilities from logits, row by row."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def _log(probabilities: np.ndarray) -> np.ndarray:
    return np.log(np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, None))


def fit_decision_rule(
    probabilities: np.ndarray, labels: np.ndarray, config: RuleConfig, split: str = "validation"
) -> DecisionRule:
    """Choose per-class offsets maximising macro F1 on ``(probabilities, labels)``: the validation split.

    The most frequent class keeps offset 0 (only differences between offsets matter); the others are
    searched on a grid. Ties go to the smallest total offset, so the rule stays as close to argmax as
    the data allows.
    """
    labels = np.asarray(labels)
    classes = probabilities.shape[1]
    if len(labels) != len(probabilities) or len(labels) == 0:
        raise PipelineError("cannot fit a decision rule: no examples, or labels and scores of different lengths")
    scores = _log(probabilities)
    baseline = macro_f1(labels, scores.argmax(axis=1), classes)
    if config.kind == "argmax":
        return DecisionRule(
            kind="argmax", fitted_on=split, examples=len(labels), before=rounded(baseline), after=rounded(baseline)
        )

    reference = int(np.bincount(labels, minlength=classes).argmax())
    free = [c for c in range(classes) if c != reference]
    steps = int(round(config.max_offset / config.step))
    grid = np.arange(-steps, steps + 1) * config.step
    best, best_offsets = baseline, np.zeros(classes)
    for values in itertools.product(grid, repeat=len(free)):
        offsets = np.zeros(classes)
        offsets[free] = values
        score = macro_f1(labels, (scores + offsets).argmax(axis=1), classes)
        if score > best + 1e-12 or (abs(score - best) <= 1e-12 and np.abs(offsets).sum() < np.abs(best_offsets).sum()):
            best, best_offsets = score, offsets
    return DecisionRule(
        offsets={name: rounded(v) for name, v in zip(LABELS, best_offsets)},
        kind="offsets",
        fitted_on=split,
        examples=int(len(labels)),
        before=rounded(baseline),
        after=rounded(best),
    )
