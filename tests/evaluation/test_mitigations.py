"""Mitigations compared out of fold (hatespeech/evaluation/mitigations.py, `python -m hatespeech.workflow.cv_compare`):
the fold-stratified paired bootstrap, each figure's definition, a run that closes the gap seen as one, and runs
on other folds refused."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from hatespeech import PipelineError
from hatespeech.data.text import text_id
from hatespeech.evaluation.mitigations import compare_runs, markdown_table, stratified_indices
from hatespeech.workflow import cv_compare

HATE, OFFENSIVE, NEITHER = range(3)


def test_stratified_indices_resample_within_each_fold():
    folds = np.array([0] * 5 + [1] * 3 + [2] * 4)
    indices = stratified_indices(folds, 200, seed=1)
    assert indices.shape == (200, 12)
    assert (folds[indices] == folds[None, :]).all()  # every draw stays in its row's fold
    assert len(np.unique(indices[:, 0])) == 5  # and reaches the fold's other rows
    assert np.array_equal(indices, stratified_indices(folds, 200, seed=1))


def _runs() -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """400 AAE- and 400 white-aligned tweets over 4 folds; the default flags 40% vs 10% of the gold-neither ones,
    the mitigated run 10% vs 10% at a few more misses elsewhere."""
    labels = np.array(([NEITHER] * 100 + [OFFENSIVE] * 250 + [HATE] * 50) * 2)
    groups = np.array(["aae"] * 400 + ["white"] * 400, dtype=object)
    folds = np.arange(800) % 4
    default = labels.copy()
    default[:40] = OFFENSIVE  # 40 of 100 AAE gold-neither flagged
    default[400:410] = OFFENSIVE  # 10 of 100 white gold-neither flagged
    default[350:380] = OFFENSIVE  # AAE hate called offensive: offensive FPR
    mitigated = default.copy()
    mitigated[10:40] = NEITHER  # 10 of 100 left
    mitigated[100:105] = NEITHER  # 5 offensive tweets missed
    return labels, groups, folds, {"default": default, "mitigated": mitigated}


def test_figures_follow_their_definitions_and_the_change_is_paired():
    labels, groups, folds, predictions = _runs()
    report = compare_runs(labels, groups, folds, predictions, "default", resamples=400, seed=0)
    default, mitigated = report["runs"]["default"], report["runs"]["mitigated"]
    assert report["rows"] == 800 and report["groups"] == {"aae": 400, "white": 400}
    assert default["false_flag_neither_aae"]["value"] == 0.4 and default["false_flag_neither_white"]["value"] == 0.1
    assert default["false_flag_neither_ratio"]["value"] == pytest.approx(4.0)
    assert mitigated["false_flag_neither_ratio"]["value"] == pytest.approx(1.0)
    # Sap et al.: offensive FPR = P(predicted offensive | gold not offensive) = (40 + 30) / 150 for AAE
    assert default["fpr_offensive_aae"]["value"] == pytest.approx(70 / 150, abs=1e-6)
    change = mitigated["false_flag_neither_ratio"]["change"]
    assert change["difference"] == pytest.approx(-3.0) and change["high"] < 0 and change["p_value"] < 0.01
    assert mitigated["f1_macro"]["change"]["p_value"] <= 1 and "change" not in default["f1_macro"]
    assert default["f1_macro"]["low"] <= default["f1_macro"]["value"] <= default["f1_macro"]["high"]
    same = compare_runs(labels, groups, folds, {"a": predictions["default"], "b": predictions["default"]}, "a", 200, 0)
    assert same["runs"]["b"]["f1_macro"]["change"] == {"difference": 0.0, "low": 0.0, "high": 0.0, "p_value": 1.0}
    table = markdown_table(report)
    assert "| mitigated | 1.000 (" in table and "p = " in table


def test_runs_of_other_rows_or_an_unknown_reference_are_refused():
    labels, groups, folds, predictions = _runs()
    with pytest.raises(PipelineError, match="run 'short' predicts 799 rows"):
        compare_runs(labels, groups, folds, {**predictions, "short": predictions["default"][:-1]}, "default", 100, 0)
    with pytest.raises(PipelineError, match="reference run 'nope'"):
        compare_runs(labels, groups, folds, predictions, "nope", 100, 0)


def _cv_workspace(root, texts: list[str], labels: list[int], predicted: list[int]):
    """A CV workspace as `make cv` leaves it, two folds: folds/fold<i>/test.parquet and the transformer's
    predictions of them."""
    half = len(texts) // 2
    for fold, rows in enumerate((slice(0, half), slice(half, None))):
        (root / "folds" / f"fold{fold}").mkdir(parents=True)
        (root / "results" / f"fold{fold}" / "transformer").mkdir(parents=True)
        pd.DataFrame({"text": texts[rows], "label": labels[rows]}).to_parquet(
            root / "folds" / f"fold{fold}" / "test.parquet"
        )
        n = len(texts[rows])
        pd.DataFrame(
            {
                "split": ["test"] * n,
                "row": range(n),
                "text_id": [text_id(t) for t in texts[rows]],
                "label": labels[rows],
                "predicted": predicted[rows],
                "predicted_tuned": predicted[rows],
            }
        ).to_parquet(root / "results" / f"fold{fold}" / "transformer" / "predictions.parquet")
    return root


def test_the_command_compares_two_cv_workspaces(tmp_path, capsys):
    texts = [f"finna go to da crib wit my homie number {i}" for i in range(20)]
    texts += [f"I really enjoyed the lovely wedding with my family number {i}" for i in range(20)]
    labels = [NEITHER, OFFENSIVE] * 20
    default = _cv_workspace(tmp_path / "default", texts, labels, [OFFENSIVE] * 40)
    better = _cv_workspace(tmp_path / "better", texts, labels, labels)
    out = tmp_path / "comparison.json"
    with pytest.raises(SystemExit) as finished:
        cv_compare.run_stage(
            "cv_compare",
            lambda: cv_compare.main(["--run", f"default={default}", "--run", f"better={better}", "--out", str(out)]),
        )
    assert finished.value.code == 0
    report = json.loads(out.read_text())
    assert report["reference"] == "default" and report["rows"] == 40
    assert report["runs"]["better"]["f1_macro"]["value"] == pytest.approx(2 / 3)  # perfect; no hate class here
    assert report["runs"]["better"]["f1_macro"]["change"]["difference"] > 0.3
    assert "| better |" in capsys.readouterr().out
    other = _cv_workspace(tmp_path / "other", texts[::-1], labels, labels)
    with pytest.raises(SystemExit) as refused:
        cv_compare.run_stage(
            "cv_compare",
            lambda: cv_compare.main(
                ["--run", f"default={default}", "--run", f"other={other}", "--out", str(tmp_path / "x.json")]
            ),
        )
    assert refused.value.code != 0 and not (tmp_path / "x.json").exists()
