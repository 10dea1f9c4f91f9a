"""`main` carries the reference run of the default `make run`: its dvc.lock and git-tracked metrics. A change
to params.yaml or to a stage's command must carry a new lock (and metrics) from a fresh run. The cross-validation
pipeline is not part of it (test_cross_validation_stays_out_of_the_default_collection)."""

from __future__ import annotations

import copy
import hashlib

import pytest
import yaml
from helpers import ROOT

from hatespeech.config import load_params

DVC_YAML = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
LOCK = load_params(ROOT / "dvc.lock")["stages"]  # the params loader: DVC writes floats such as 5e-05 as YAML 1.2
PARAMS = load_params(ROOT / "params.yaml")
MISSING = object()  # a key the lock does not record at all


def param_value(params: dict, key: str):
    node = params
    for part in key.split("."):
        node = node[part]
    return node


def stale_params(name: str, params: dict) -> list[str]:
    """The params keys of stage ``name`` whose values in ``params`` differ from what the lock recorded."""
    recorded = LOCK[name].get("params", {}).get("params.yaml", {})
    return [key for key in DVC_YAML[name].get("params", []) if recorded.get(key, MISSING) != param_value(params, key)]


def paths(entries: list) -> set[str]:
    """Paths of dvc.yaml deps/outs, which are strings or one-key mappings ({path: {cache: false}})."""
    return {entry if isinstance(entry, str) else next(iter(entry)) for entry in entries}


def test_every_stage_is_locked():
    assert set(LOCK) == set(DVC_YAML)


@pytest.mark.parametrize("name", sorted(DVC_YAML))
def test_lock_has_the_current_command_params_and_deps(name):
    stage, locked = DVC_YAML[name], LOCK[name]
    assert " ".join(locked["cmd"].split()) == " ".join(stage["cmd"].split()), (
        "dvc.yaml's cmd changed: rerun the reference"
    )
    assert stale_params(name, PARAMS) == [], f"{name}: params.yaml differs from the reference run's: rerun it"
    assert {dep["path"] for dep in locked["deps"]} == paths(stage["deps"])
    outs = paths(stage.get("outs", [])) | paths(stage.get("metrics", []))
    assert {out["path"] for out in locked["outs"]} == outs


METRICS = [
    "metrics/test.json",
    "metrics/baseline_test.json",
    "metrics/ensemble_test.json",
    "metrics/ensemble_choice.json",
    "metrics/comparison.json",
    "metrics/onnx_parity.json",
    "metrics/audit.json",
]


@pytest.mark.parametrize("metrics", METRICS)
def test_committed_metrics_are_the_locked_ones(metrics):
    locked = {out["path"]: out["md5"] for stage in LOCK.values() for out in stage["outs"]}
    assert hashlib.md5((ROOT / metrics).read_bytes()).hexdigest() == locked[metrics]


def stale_files(name: str) -> list[str]:
    """The file deps of stage ``name`` in git (code, shipped data) whose content differs from what the lock
    recorded: a fresh clone's `dvc status` would call the stage changed although nobody changed its inputs."""
    return [
        dep["path"]
        for dep in LOCK[name]["deps"]
        if (ROOT / dep["path"]).is_file() and hashlib.md5((ROOT / dep["path"]).read_bytes()).hexdigest() != dep["md5"]
    ]


@pytest.mark.parametrize("name", sorted(DVC_YAML))
def test_the_lock_records_the_committed_code(name):
    assert stale_files(name) == [], f"{name}: code changed since the reference run: rerun the stage, commit the lock"


def test_stale_params_are_caught():
    """The check above can fail: params.yaml with one more epoch is stale for train, and for no stage before it."""
    changed = copy.deepcopy(PARAMS)
    changed["train"]["epochs"] += 1
    assert stale_params("train", changed) == ["train"]
    assert stale_params("tokenize_splits", changed) == [] and stale_params("download", changed) == []


def test_cross_validation_stays_out_of_the_default_collection():
    """main carries the CV pipeline's definition and settings only: no cv/dvc.yaml, lock or results that a
    clone's `dvc status` / `dvc metrics diff` would read (`make cv` makes them; docs/results/cv/ keeps copies)."""
    from helpers import git

    assert set(git(ROOT, "ls-files", "cv").stdout.split()) == {"cv/.gitignore", "cv/params.yaml", "cv/pipeline.yaml"}
    assert "metrics/cv.json" not in git(ROOT, "ls-files", "metrics").stdout.split()
