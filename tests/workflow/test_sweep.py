"""The sweep file behind `make sweep`: checked in full before anything is queued (the dvc side runs in
test_team_workflow.py)."""

from __future__ import annotations

import pytest
import yaml
from helpers import ROOT

from hatespeech import PipelineError
from hatespeech.config import load_params
from hatespeech.workflow.sweep import main, read_sweep


def test_the_shipped_sweep_becomes_one_queue_command_per_experiment():
    sweep = read_sweep(str(ROOT / "sweep.yaml"))
    commands = sweep.commands(load_params(ROOT / "params.yaml"))
    assert len(commands) == len(sweep.experiments) >= 4
    first = commands[0]
    assert first[:8] == ["exp", "run", "--queue", "-n", "e2", "evaluate", "-S", "train.epochs=2"]
    flat = [" ".join(command) for command in commands]
    # The knobs, each a param: epochs, learning rate, soft labels, a loss aimed at the hard class.
    for setting in ("train.soft_labels=true", "train.learning_rate=0.0001", "train.focal_gamma=2.0"):
        assert any(setting in command for command in flat), setting


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("experiments: {}\n", "must be a mapping with 'experiments'"),
        ("experiments: {a: {train: {epochs: 1}}}\ntargets: [x]\n", "unknown: targets"),
        ("experiments: {'bad name': {train: {epochs: 1}}}\n", "experiment name 'bad name'"),
        ("experiments: {a: {}}\n", "needs a mapping of params.yaml overrides"),
        ("experiments: [\n", "is not valid YAML"),
    ],
)
def test_bad_sweep_files_are_clear_errors(tmp_path, text, message):
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    with pytest.raises(PipelineError, match=message):
        read_sweep(str(path))


def test_a_typo_fails_before_anything_is_queued(tmp_path, monkeypatch, capsys):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"train": {"epochs": 4, "learning_rate": 5e-5}}))
    (tmp_path / "sweep.yaml").write_text(
        "experiments:\n  ok: {train: {epochs: 2}}\n  typo: {train: {learning_rte: 1.0e-4}}\n"
    )
    monkeypatch.chdir(tmp_path)
    queued = []
    monkeypatch.setattr("hatespeech.workflow.sweep.run_dvc", lambda *args: queued.append(args))
    assert main(["sweep.yaml"]) == 2
    assert queued == []  # not even the first, valid experiment
    assert "sets 'train.learning_rte', which params.yaml does not have" in capsys.readouterr().err
