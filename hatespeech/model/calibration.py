"""Calibration: class probabilities that mean what they say, fitted on the validation split.

The fine-tuned model's softmax is trained for accuracy, not for honest probabilities (class weights, for one,
push the rare hate class up on purpose). A calibration map, fitted after training on held-out rows, fixes that
without touching the label:

- ``temperature``: ``softmax(log p / T)``, one number (Guo et al. 2017). It keeps every text's class ranking.
- ``vector``: ``softmax(w * log p + b)``, a weight and a bias per class (Kull et al. 2019 call the
  log-probability form Dirichlet calibration, diagonal case). It can move one class's scores more than another's.

``auto`` (the default of params.yaml's ``calibrate.method``) picks vector scaling only where it measurably helps:
on a K-fold split of the validation rows, each map is fitted on K-1 folds and scored on the rest; vector scaling is
chosen when its out-of-fold negative log-likelihood is lower by more than two standard errors of the paired,
per-row difference. The map is saved next to the model (``calibration.json``) and applied by every entry point
(:class:`hatespeech.model.inference.Classifier`); a model directory without one scores uncalibrated. The decision
rule keeps reading the model's own probabilities, so calibration changes scores, never labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from hatespeech import LABELS, PipelineError
from hatespeech.config import PARAMS_YAML, Section
from hatespeech.io import file_in, read_json, write_json
from hatespeech.metrics import rounded
from hatespeech.model.decision import softmax
from hatespeech.paths import CALIBRATION_FILE

Method = Literal["temperature", "vector", "auto"]
_EPSILON = 1e-12


@dataclass(frozen=True)
class CalibrateConfig(Section):
    """The ``calibrate`` section of params.yaml."""

    SECTION = "calibrate"

    method: Method = PARAMS_YAML
    folds: int = PARAMS_YAML
    bins: int = PARAMS_YAML

    def validate(self) -> None:
        if self.folds < 2:
            raise PipelineError(f"calibrate.folds must be at least 2, got {self.folds}")
        if self.bins < 2:
            raise PipelineError(f"calibrate.bins must be at least 2, got {self.bins}")


@dataclass(frozen=True)
class Calibration:
    """A calibration map of log-probabilities: ``softmax(weights * log p + biases)`` (temperature: weights 1/T)."""

    kind: str = "none"  # none | temperature | vector
    weights: dict[str, float] = field(default_factory=lambda: {name: 1.0 for name in LABELS})
    biases: dict[str, float] = field(default_factory=lambda: {name: 0.0 for name in LABELS})
    temperature: float | None = None
    fitted_on: str | None = None  # always "validation"
    examples: int = 0
    selection: dict = field(default_factory=dict)  # how the kind was chosen: each map's out-of-fold NLL

    @property
    def calibrated(self) -> bool:
        return self.kind != "none"

    def apply(self, probabilities: np.ndarray, labels: Sequence[str] = LABELS) -> np.ndarray:
        """Calibrated probabilities of rows of model probabilities (columns in ``labels`` order)."""
        if not self.calibrated or len(probabilities) == 0:
            return np.asarray(probabilities)
        weights, biases = (self._vector(values, labels) for values in (self.weights, self.biases))
        return softmax(log_probabilities(probabilities) * weights + biases)

    def _vector(self, values: dict[str, float], labels: Sequence[str]) -> np.ndarray:
        missing = sorted(set(labels) - set(values))
        if missing:
            raise PipelineError(f"the calibration has no parameter for class(es) {', '.join(missing)}")
        return np.array([values[name] for name in labels], dtype=np.float64)

    def save(self, path: str | Path) -> Path:
        """Write to ``path``: a model directory (its calibration.json) or a file."""
        target = file_in(path, CALIBRATION_FILE)
        write_json(target, asdict(self))
        return target

    @classmethod
    def load(cls, path: str | Path, missing_ok: bool = True) -> Calibration:
        """The map saved with a model (``path``: its directory, or the file); a model directory without one scores
        uncalibrated (kind ``none``)."""
        path = file_in(path, CALIBRATION_FILE)
        data = read_json(path, "a model's calibration", missing_ok=missing_ok)
        if data is None:
            return cls()
        try:
            calibration = cls(**data)
            calibration._vector(calibration.weights, list(calibration.weights))
            calibration._vector(calibration.biases, list(calibration.biases))
        except (ValueError, TypeError, AttributeError) as exc:
            raise PipelineError(f"{path} is not a valid calibration: {exc}") from exc
        return calibration


def log_probabilities(probabilities: np.ndarray) -> np.ndarray:
    return np.log(np.clip(np.asarray(probabilities, dtype=np.float64), _EPSILON, None))


def nll(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each row's negative log-likelihood of its label."""
    return -np.log(np.clip(probabilities[np.arange(len(labels)), labels], _EPSILON, None))


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising the NLL of ``labels`` (searched on log T in [-3, 3]: T from 0.05 to 20)."""
    from scipy.optimize import minimize_scalar  # here, not at the top: the service loads this module to serve

    logs = log_probabilities(probabilities)

    def loss(log_t: float) -> float:
        return float(nll(softmax(logs / np.exp(log_t)), labels).mean())

    return float(np.exp(minimize_scalar(loss, bounds=(-3.0, 3.0), method="bounded").x))


def fit_vector(probabilities: np.ndarray, labels: np.ndarray, l2: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Per-class weights and biases minimising the NLL (a small L2 pull towards the identity keeps a tiny
    validation split from overfitting); L-BFGS from the identity map."""
    from scipy.optimize import minimize

    logs = log_probabilities(probabilities)
    classes = logs.shape[1]
    onehot = np.eye(classes)[labels]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        weights, biases = theta[:classes], theta[classes:]
        calibrated = softmax(logs * weights + biases)
        value = nll(calibrated, labels).mean() + l2 * (((weights - 1) ** 2).sum() + (biases**2).sum())
        residual = (calibrated - onehot) / len(labels)
        gradient = np.concatenate([(residual * logs).sum(axis=0) + 2 * l2 * (weights - 1), residual.sum(axis=0)])
        return float(value), gradient + np.concatenate([np.zeros(classes), 2 * l2 * biases])

    start = np.concatenate([np.ones(classes), np.zeros(classes)])
    theta = minimize(loss, start, jac=True, method="L-BFGS-B").x
    return theta[:classes], theta[classes:]


def _fit(kind: str, probabilities: np.ndarray, labels: np.ndarray) -> Calibration:
    if kind == "temperature":
        temperature = fit_temperature(probabilities, labels)
        weights = {name: 1 / temperature for name in LABELS}
        return Calibration("temperature", weights, {name: 0.0 for name in LABELS}, temperature)
    weights_array, biases_array = fit_vector(probabilities, labels)
    return Calibration("vector", dict(zip(LABELS, weights_array)), dict(zip(LABELS, biases_array)))


def stratified_folds(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Each row's fold (0 .. folds - 1), every label spread evenly over the folds, seeded."""
    fold_of = np.empty(len(labels), dtype=np.int64)
    rng = np.random.default_rng(seed)
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        fold_of[rows] = np.arange(len(rows)) % folds
    return fold_of


def out_of_fold_nll(kind: str, probabilities: np.ndarray, labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Each row's NLL under the map of ``kind`` fitted on the other folds (:func:`stratified_folds`)."""
    fold_of = stratified_folds(labels, folds, seed)
    losses = np.empty(len(labels))
    for fold in range(folds):
        held = fold_of == fold
        if held.all() or not held.any():
            continue
        calibration = _fit(kind, probabilities[~held], labels[~held])
        losses[held] = nll(calibration.apply(probabilities[held]), labels[held])
    return losses


def fit_calibration(probabilities: np.ndarray, labels: np.ndarray, config: CalibrateConfig, seed: int) -> Calibration:
    """The calibration map for ``config.method``, fitted on ``(probabilities, labels)``: the validation split."""
    labels = np.asarray(labels)
    if len(labels) != len(probabilities) or len(labels) < 2 * config.folds:
        raise PipelineError(
            f"cannot fit a calibration on {len(labels)} rows: at least {2 * config.folds} (two per fold) are needed"
        )
    kind, selection = config.method, {}
    if config.method == "auto":
        losses = {k: out_of_fold_nll(k, probabilities, labels, config.folds, seed) for k in ("temperature", "vector")}
        difference = losses["temperature"] - losses["vector"]
        margin = 2 * difference.std(ddof=1) / np.sqrt(len(difference))
        kind = "vector" if difference.mean() > margin else "temperature"
        selection = {
            "folds": config.folds,
            "out_of_fold_nll": {k: rounded(v.mean()) for k, v in losses.items()},
            "vector_gain": rounded(difference.mean()),
            "required_gain": rounded(margin),  # two standard errors of the paired difference
        }
    fitted = _fit(kind, probabilities, labels)
    return Calibration(
        kind,
        {name: rounded(v) for name, v in fitted.weights.items()},
        {name: rounded(v) for name, v in fitted.biases.items()},
        None if fitted.temperature is None else rounded(fitted.temperature),
        "validation",
        int(len(labels)),
        selection,
    )
