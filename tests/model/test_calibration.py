"""The calibration map: fitted on held-out rows, chosen by an out-of-fold check, saved with the model, and a model
directory without one still loads (scores uncalibrated)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hatespeech import LABELS, PipelineError
from hatespeech.model.calibration import (
    CalibrateConfig,
    Calibration,
    fit_calibration,
    fit_temperature,
    nll,
)
from hatespeech.model.decision import softmax


def overconfident(rows: int, temperature: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from softmax(z), probabilities reported as softmax(z * temperature): overconfident for T > 1."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, size=(rows, 3))
    true = softmax(logits)
    labels = np.array([rng.choice(3, p=p) for p in true])
    return softmax(logits * temperature), labels


def test_temperature_scaling_recovers_the_temperature_and_lowers_the_nll():
    probabilities, labels = overconfident(4000, temperature=2.0)
    assert fit_temperature(probabilities, labels) == pytest.approx(2.0, rel=0.1)
    calibration = fit_calibration(probabilities, labels, CalibrateConfig(method="temperature"), seed=0)
    assert calibration.kind == "temperature" and calibration.temperature == pytest.approx(2.0, rel=0.1)
    assert nll(calibration.apply(probabilities), labels).mean() < nll(probabilities, labels).mean() - 0.05
    # one temperature keeps each row's ranking of the classes
    assert (calibration.apply(probabilities).argmax(axis=1) == probabilities.argmax(axis=1)).all()


def test_auto_picks_vector_scaling_only_where_one_class_is_off_on_its_own():
    probabilities, labels = overconfident(3000, temperature=1.5, seed=1)
    assert fit_calibration(probabilities, labels, CalibrateConfig(method="auto"), seed=0).kind == "temperature"
    skewed = probabilities.copy()
    skewed[:, 0] *= 4  # the first class's scores pushed up, as class weights do to hate speech
    skewed /= skewed.sum(axis=1, keepdims=True)
    chosen = fit_calibration(skewed, labels, CalibrateConfig(method="auto"), seed=0)
    assert chosen.kind == "vector"
    assert chosen.selection["vector_gain"] > chosen.selection["required_gain"] > 0
    assert chosen.biases["hate_speech"] < chosen.biases["neither"]  # pulls the inflated class back


def test_saved_with_the_model_and_a_directory_without_one_scores_uncalibrated(tmp_path):
    probabilities, labels = overconfident(500, temperature=2.0)
    calibration = fit_calibration(probabilities, labels, CalibrateConfig(), seed=0)
    calibration.save(tmp_path)
    loaded = Calibration.load(tmp_path)
    assert loaded == calibration and loaded.calibrated
    assert np.allclose(loaded.apply(probabilities), calibration.apply(probabilities))
    old = Calibration.load(tmp_path / "elsewhere")  # an older model directory: no calibration.json
    assert not old.calibrated and old.kind == "none"
    assert np.array_equal(old.apply(probabilities), probabilities)


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "calibration"),
        (json.dumps({"kind": "vector", "weights": {"hate_speech": 1.0}}), "no parameter for class"),
        (json.dumps({"kind": "vector", "colour": "red"}), "not a valid calibration"),
    ],
)
def test_a_broken_calibration_file_is_a_clear_error(tmp_path, content, message):
    (tmp_path / "calibration.json").write_text(content)
    with pytest.raises(PipelineError, match=message):
        Calibration.load(tmp_path).apply(np.full((1, 3), 1 / 3), LABELS)


def test_too_few_rows_or_bad_settings_are_refused():
    probabilities, labels = overconfident(6, temperature=1.0)
    with pytest.raises(PipelineError, match="at least 10"):
        fit_calibration(probabilities, labels, CalibrateConfig(folds=5), seed=0)
    with pytest.raises(PipelineError, match="calibrate.folds"):
        CalibrateConfig.from_params({"folds": 1})
    with pytest.raises(PipelineError, match="calibrate.method must be one of"):
        CalibrateConfig.from_params({"method": "isotonic"})
