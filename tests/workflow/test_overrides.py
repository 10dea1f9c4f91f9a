"""The offline profile: `dvc exp run -S` arguments from a YAML file of overrides."""

from __future__ import annotations

import shlex
import sys

import pytest
import yaml
from helpers import ROOT, run

from hatespeech import PipelineError
from hatespeech.workflow.overrides import flatten, set_param_args


def test_flatten():
    assert flatten({"train": {"epochs": 5, "lr": 1e-4}, "base": {"seed": 1}}) == {
        "train.epochs": 5,
        "train.lr": 1e-4,
        "base.seed": 1,
    }


def test_arguments_keep_types_through_yaml():
    args = set_param_args(
        {"train": {"epochs": 5, "class_weights": "sqrt", "group_by_length": False}},
        {"train": {"epochs": 3, "class_weights": "none", "group_by_length": True}},
    )
    assert args == ["-S", "train.epochs=5", "-S", 'train.class_weights="sqrt"', "-S", "train.group_by_length=false"]
    for value in args[1::2]:
        key, text = value.split("=", 1)
        assert (
            yaml.safe_load(text)
            == {"train.epochs": 5, "train.class_weights": "sqrt", "train.group_by_length": False}[key]
        )


def test_unknown_key_is_refused():
    with pytest.raises(PipelineError, match="train.epoch"):
        set_param_args({"train": {"epoch": 5}}, {"train": {"epochs": 3}})


def test_shipped_profile_only_sets_existing_params():
    result = run([sys.executable, "-m", "hatespeech.workflow.overrides", "profiles/seed-bert-base.yaml"], cwd=ROOT)
    args = shlex.split(result.stdout)
    assert args[0::2] == ["-S"] * (len(args) // 2) and len(args) >= 2
    params = flatten(yaml.safe_load((ROOT / "params.yaml").read_text()))
    assert all(value.split("=", 1)[0] in params for value in args[1::2])


def test_params_read_floats_as_dvc_writes_them(tmp_path):
    from hatespeech.config import load_params

    (tmp_path / "params.yaml").write_text("train:\n  learning_rate: 8e-05\n  epochs: 4\n  name: 1e5x\n")
    assert load_params(tmp_path / "params.yaml")["train"] == {"learning_rate": 8e-05, "epochs": 4, "name": "1e5x"}
