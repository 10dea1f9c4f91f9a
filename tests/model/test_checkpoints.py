"""A killed training run resumes where it stopped and ends byte-identical to an uninterrupted run (which also
makes two clean runs' bytes a tested fact; the S3 teammate's clean rerun compares whole pipelines); stale
checkpoints are not reused."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import TINY_TRAIN, copy_project, run_script, set_params, stage_command, tool_env

from hatespeech.model.checkpoints import COMPLETE_MARKER, latest_checkpoint, prepare_checkpoints

TRAIN, EVALUATE = (stage_command(name) for name in ("train", "evaluate"))
# Checkpoints every few steps, so a kill lands between two of them.
RECOVERY_TRAIN = {**TINY_TRAIN, "epochs": 5, "checkpoint_steps": 4}

pytestmark = pytest.mark.slow  # real training runs, one killed and resumed


@pytest.fixture(scope="module")
def tokenized_project(tmp_path_factory, staged_project) -> Path:
    """The session's project after its data stages, with checkpoints every few steps."""
    return copy_project(staged_project, tmp_path_factory.mktemp("recovery") / "base", train=RECOVERY_TRAIN)


def train_and_evaluate(project: Path) -> subprocess.CompletedProcess:
    trained = run_script(project, *TRAIN)
    assert trained.returncode == 0, trained.stderr
    evaluated = run_script(project, *EVALUATE)
    assert evaluated.returncode == 0, evaluated.stderr
    return trained


def outputs(project: Path) -> dict[str, bytes]:
    """Everything a run produces that must not depend on how (or whether) it was interrupted."""
    files = [
        project / "metrics/test.json",
        project / "metrics/validation.json",
        project / "models/trained/decision_rule.json",
    ]
    # The training-loss curve is left out: the Trainer's first loss log after a resume averages only the
    # steps since the resume. Validation curves, the model and every prediction must match.
    files += sorted((project / "reports").rglob("*.jsonl")) + sorted(
        (project / "dvclive/plots/metrics/eval").glob("*.tsv")
    )
    return {str(path.relative_to(project)): path.read_bytes() for path in files}


@pytest.fixture(scope="module")
def uninterrupted(tokenized_project) -> Path:
    project = copy_project(tokenized_project, tokenized_project.parent / "uninterrupted")
    train_and_evaluate(project)
    return project


def test_killed_run_resumes_and_ends_where_an_uninterrupted_one_does(tokenized_project, uninterrupted):
    project = copy_project(tokenized_project, tokenized_project.parent / "killed")
    process = subprocess.Popen(
        [sys.executable, *TRAIN], cwd=project, env=tool_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    checkpoints = project / "checkpoints/train"
    deadline = time.monotonic() + 300
    while latest_checkpoint(checkpoints) is None if checkpoints.exists() else True:
        assert process.poll() is None, "training ended before its first checkpoint"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (project / "models/trained").exists(), "the run finished before it could be killed"
    assert list((project / "models").glob(".trained.*.tmp")), "the killed run left its temporary output"

    resumed = train_and_evaluate(project)
    assert "resuming from" in resumed.stderr and "checkpoint-" in resumed.stderr
    assert not list((project / "models").glob(".trained.*.tmp"))  # the killed run's leftovers are gone
    expected, got = outputs(uninterrupted), outputs(project)
    assert expected.keys() == got.keys() and len(expected) >= 5
    model = "models/trained/model.safetensors"
    assert (uninterrupted / model).read_bytes() == (project / model).read_bytes()
    for name in expected:
        assert got[name] == expected[name], f"{name} differs after resuming"
    assert not checkpoints.exists()  # cleaned up after the completed run (train.keep_checkpoints: false)
    assert not (uninterrupted / "checkpoints/train").exists()  # and after a run never interrupted


def test_checkpoints_of_other_params_are_not_resumed(tokenized_project):
    project = copy_project(tokenized_project, tokenized_project.parent / "other-params")
    set_params(project, "train", keep_checkpoints=True, epochs=1)  # one epoch holds several checkpoints
    assert run_script(project, *TRAIN).returncode == 0
    assert latest_checkpoint(project / "checkpoints/train") is not None

    set_params(project, "train", learning_rate=1.0e-3)
    result = run_script(project, *TRAIN)
    assert result.returncode == 0, result.stderr
    assert "ignoring checkpoints" in result.stderr and "resuming from" not in result.stderr


def test_half_written_checkpoints_are_ignored(tmp_path):
    fingerprint = {"data": "abc", "seed": 1}
    assert prepare_checkpoints(tmp_path / "ckpt", fingerprint) is None
    complete, partial = tmp_path / "ckpt/checkpoint-4", tmp_path / "ckpt/checkpoint-8"
    complete.mkdir()
    (complete / COMPLETE_MARKER).write_text("ok\n")
    partial.mkdir()  # killed while saving: no marker
    (partial / "model.safetensors").write_bytes(b"trunc")
    assert prepare_checkpoints(tmp_path / "ckpt", fingerprint) == complete
    assert prepare_checkpoints(tmp_path / "ckpt", {**fingerprint, "seed": 2}) is None
    assert not complete.exists()  # another run's checkpoints are removed
    assert json.loads((tmp_path / "ckpt/fingerprint.json").read_text())["seed"] == 2
