"""The train stage under torchrun: two CPU processes (gloo), one set of outputs, a model that loads and predicts."""

from __future__ import annotations

import json

import pytest
from helpers import TINY_TRAIN, copy_project, make_project, run_script, stage_command

from hatespeech.model.inference import Classifier

TRAIN = stage_command("train")


@pytest.mark.slow  # two training processes, about 40 s each
@pytest.mark.parametrize("launcher", ["torchrun", "accelerate"])
def test_train_stage_with_two_processes(tmp_path, staged_project, launcher):
    train = {**TINY_TRAIN, "epochs": 2, "nproc": 2, "launcher": launcher}  # global batch 8: 4 per process
    project = copy_project(staged_project, tmp_path / "p", train=train)

    result = run_script(project, *TRAIN, env={"OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    assert "launching 2 processes" in result.stderr and result.stderr.count("launching") == 1  # children never relaunch
    # Both ranks trained (DDP), and only rank 0 wrote: one model directory, one set of curves, no leftovers.
    assert result.stderr.count("kept epoch") == 1
    model_dir = project / "models/trained"
    assert sorted(p.name for p in project.joinpath("models").iterdir()) == ["trained"]
    args = json.loads((model_dir / "training_args.json").read_text())
    assert args["per_device_train_batch_size"] == 4
    assert result.stderr.count("training on 2 process(es): global batch 8 = 4 per device") == 2  # one per rank
    assert (project / "dvclive/metrics.json").is_file()
    assert not (project / "checkpoints/train").exists()

    predictions = Classifier(model_dir).predict(["some tweet", "another, much longer tweet than that one"])
    assert [p["label"] for p in predictions] and all(abs(sum(p["scores"].values()) - 1) < 1e-4 for p in predictions)


@pytest.mark.slow  # a train stage process
def test_global_batch_must_divide_across_processes(tmp_path, csv_file, tiny_model):
    project = make_project(tmp_path / "p", str(csv_file), str(tiny_model), train={**TINY_TRAIN, "nproc": 3})
    result = run_script(project, *TRAIN)
    assert result.returncode == 2
    assert (
        "train.batch_size 8 is the global batch: it must be a multiple of the number of processes (3)" in result.stderr
    )
