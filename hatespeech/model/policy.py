"""Moderation policies: calibrated scores turned into actions a platform takes, ``allow``, ``review`` or ``flag``.

A policy is stated as a platform states it (params.yaml's ``policy`` section): per class, the **precision** its
automatic flags must have, and the **recall** that flags and human review together must reach. The policy stage
turns those targets into two thresholds per class on the calibrated probability, fitted on the validation split:

- ``flag``: the lowest threshold whose flagged validation tweets (at least ``min_flags`` of them) reach the target
  precision with ``flag_confidence`` (the one-sided lower bound of their precision reaches it). None when no
  threshold does: that class is then never flagged automatically, and the metric says the target was not met (no
  silent fallback to a weaker one).
- ``review``: the highest threshold that still sends at least the target share of that class's validation tweets
  to review or flags (never above the flag threshold: the band between them is the review band).

A text is flagged when a class's score reaches its flag threshold (classes in severity order: hate speech first),
else reviewed when one reaches its review threshold, else allowed. The decision reads the scores as the answer
shows them (:func:`hatespeech.metrics.rounded`), so anyone can check it from the response: every entry
point (service, ``hatespeech-predict``, ``hatespeech-score``, every backend) goes through :meth:`Policy.decide`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from hatespeech import LABELS, PipelineError
from hatespeech.config import PARAMS_YAML, Section
from hatespeech.io import file_in, read_json, write_json
from hatespeech.metrics import rounded, rounded_array
from hatespeech.paths import POLICY_FILE

ACTIONS = ("allow", "review", "flag")
TARGETS = ("flag_precision", "review_recall")


@dataclass(frozen=True)
class PolicyConfig(Section):
    """The ``policy`` section of params.yaml."""

    SECTION = "policy"

    default: str = PARAMS_YAML
    min_flags: int = PARAMS_YAML
    flag_confidence: float = PARAMS_YAML
    policies: dict[str, dict[str, dict[str, float]]] = PARAMS_YAML

    def validate(self) -> None:
        if not self.policies:
            raise PipelineError("policy.policies is empty: name at least one policy")
        if self.default not in self.policies:
            raise PipelineError(f"policy.default '{self.default}' is not one of the policies: {known(self.policies)}")
        if self.min_flags < 1:
            raise PipelineError(f"policy.min_flags must be at least 1, got {self.min_flags}")
        if not 0 < self.flag_confidence < 1:
            raise PipelineError(f"policy.flag_confidence must be between 0 and 1, got {self.flag_confidence}")
        for name, targets in self.policies.items():
            _check_targets(name, targets)


def _check_targets(name: str, targets: Mapping[str, Mapping[str, float]]) -> None:
    where = f"policy.policies.{name}"
    unknown = sorted(set(targets) - set(TARGETS))
    if unknown:
        raise PipelineError(f"{where}: unknown target(s) {', '.join(unknown)}; known: {', '.join(TARGETS)}")
    for target, per_class in targets.items():
        classes = sorted(set(per_class) - set(LABELS))
        if classes:
            raise PipelineError(f"{where}.{target}: unknown class(es) {', '.join(classes)}; known: {', '.join(LABELS)}")
        for label, value in per_class.items():
            if not 0 < value <= 1:
                raise PipelineError(f"{where}.{target}.{label} must be in (0, 1], got {value}")


def known(policies: Mapping[str, object]) -> str:
    return ", ".join(policies) or "none (this model has no policies.json)"


@dataclass(frozen=True)
class Threshold:
    """One class's thresholds on its calibrated probability (None: no such band), and their targets."""

    flag: float | None
    review: float | None
    flag_precision: float | None = None  # the target
    review_recall: float | None = None  # the target


@dataclass(frozen=True)
class Policy:
    name: str
    thresholds: dict[str, Threshold]  # by class, in severity order

    def decide(self, scores: Mapping[str, float]) -> dict[str, str | None]:
        """``{"action", "policy", "reason"}`` for one text's calibrated ``scores``: the first class (severity
        order) whose score reaches its flag threshold, else its review threshold; ``reason`` None when allowed."""
        for band in ("flag", "review"):
            for label, threshold in self.thresholds.items():
                value = getattr(threshold, band)
                if value is not None and scores[label] >= value:
                    return {"action": band, "policy": self.name, "reason": label}
        return {"action": "allow", "policy": self.name, "reason": None}

    def actions(self, probabilities: np.ndarray, labels: Sequence[str] = LABELS) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised :meth:`decide` over rows of calibrated probabilities: (action ids in ACTIONS order, the
        reason's class id, -1 when allowed). The scores are rounded first, as the answers show them."""
        scores = rounded_array(probabilities)
        action = np.zeros(len(scores), dtype=np.int64)
        reason = np.full(len(scores), -1, dtype=np.int64)
        for code, band in ((2, "flag"), (1, "review")):
            for label, threshold in self.thresholds.items():
                value = getattr(threshold, band)
                if value is None:
                    continue
                hit = (action == 0) & (scores[:, labels.index(label)] >= value)
                action[hit], reason[hit] = code, labels.index(label)
        return action, reason


@dataclass(frozen=True)
class Policies:
    """A model's policies (its ``policies.json``): by name, with the default one."""

    default: str | None = None
    policies: dict[str, Policy] | None = None

    def get(self, name: str | None) -> Policy:
        """The policy ``name`` (None: the default); an unknown name is a PipelineError naming the known ones."""
        policies = self.policies or {}
        chosen = name or self.default
        if chosen not in policies:
            raise UnknownPolicy(f"unknown policy '{chosen}': this model knows {known(policies)}")
        return policies[chosen]

    @property
    def names(self) -> list[str]:
        """The policies' names, in params.yaml's order."""
        return list(self.policies or {})

    def as_json(self) -> dict:
        return {
            "default": self.default,
            "policies": {
                name: {k: asdict(t) for k, t in p.thresholds.items()} for name, p in (self.policies or {}).items()
            },
        }

    def save(self, path: str | Path) -> Path:
        """Write to ``path``: a model directory (its policies.json) or a file."""
        target = file_in(path, POLICY_FILE)
        write_json(target, self.as_json())
        return target

    @classmethod
    def load(cls, path: str | Path, missing_ok: bool = True) -> Policies:
        """A model's policies (``path``: its directory, or the file); a model directory without policies.json has
        none (every request naming one fails)."""
        path = file_in(path, POLICY_FILE)
        data = read_json(path, "a model's moderation policies", missing_ok=missing_ok)
        if data is None:
            return cls()
        try:
            policies = {
                str(name): Policy(str(name), {str(k): Threshold(**v) for k, v in thresholds.items()})
                for name, thresholds in data["policies"].items()
            }
            loaded = cls(data["default"], policies)
            loaded.get(None)
        except (KeyError, TypeError, AttributeError, PipelineError) as exc:
            raise PipelineError(f"{path} is not a valid policies file: {exc}") from exc
        return loaded


class UnknownPolicy(PipelineError):
    """A policy name the model does not know (the service answers 422)."""


def flag_threshold(
    scores: np.ndarray, positive: np.ndarray, precision: float, min_flags: int, confidence: float
) -> float | None:
    """The lowest threshold t such that the rows scoring >= t number at least ``min_flags`` and the one-sided
    ``confidence`` lower bound (Clopper-Pearson) of their precision reaches ``precision``; None if none does.

    A bound, not the observed precision: the lowest threshold whose observed precision touches the target sits
    where noise happened to favour it, and its flags fall short on new tweets."""
    from scipy.stats import beta  # here, not at the top: scipy.stats takes half a second to import

    order = np.argsort(-scores, kind="stable")
    sorted_scores, hits = scores[order], np.cumsum(positive[order])
    counts = np.arange(1, len(scores) + 1)
    with np.errstate(invalid="ignore"):
        lower = np.nan_to_num(beta.ppf(1 - confidence, hits, counts - hits + 1), nan=0.0)
    last_of_tie = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]  # a threshold takes every tie
    ok = last_of_tie & (counts >= min_flags) & (lower >= precision - 1e-9)
    return float(sorted_scores[np.flatnonzero(ok)[-1]]) if ok.any() else None


def review_threshold(scores: np.ndarray, positive: np.ndarray, recall: float) -> float | None:
    """The highest threshold at which at least ``recall`` of the positive rows score >= it; None without any."""
    positives = np.sort(scores[positive])[::-1]
    if len(positives) == 0:
        return None
    needed = int(np.ceil(recall * len(positives) - 1e-9))
    return float(positives[max(needed, 1) - 1])


def fit_policy(
    name: str,
    targets: Mapping[str, Mapping[str, float]],
    probabilities: np.ndarray,
    labels: np.ndarray,
    min_flags: int,
    confidence: float,
) -> Policy:
    """The thresholds of one policy, fitted on rows of calibrated ``probabilities`` and gold ``labels``."""
    scores = rounded_array(probabilities)  # as decided: on the scores as answered
    flag_targets, review_targets = targets.get("flag_precision", {}), targets.get("review_recall", {})
    thresholds = {}
    for label in [name for name in LABELS if name in flag_targets or name in review_targets]:
        column, positive = scores[:, LABELS.index(label)], labels == LABELS.index(label)
        flag = review = None
        if label in flag_targets:
            flag = flag_threshold(column, positive, flag_targets[label], min_flags, confidence)
        if label in review_targets:
            review = review_threshold(column, positive, review_targets[label])
            if review is not None and flag is not None:
                review = min(review, flag)
        thresholds[label] = Threshold(
            None if flag is None else rounded(flag),
            None if review is None else rounded(review),
            flag_targets.get(label),
            review_targets.get(label),
        )
    return Policy(name, thresholds)


def fit_policies(config: PolicyConfig, probabilities: np.ndarray, labels: np.ndarray) -> Policies:
    """Every policy of ``config`` fitted on calibrated validation probabilities."""
    labels = np.asarray(labels)
    fitted = {
        name: fit_policy(name, targets, probabilities, labels, config.min_flags, config.flag_confidence)
        for name, targets in config.policies.items()
    }
    return Policies(config.default, fitted)
