"""Turn a YAML profile of parameter overrides into `dvc exp run -S key=value` arguments.

python -m hatespeech.workflow.overrides profiles/seed-bert-base.yaml   # prints: -S train.epochs=3 ...
"""

from __future__ import annotations

import argparse
import copy
import json
import shlex
import sys
from typing import Any

import yaml

from hatespeech import PipelineError
from hatespeech.cli import fail
from hatespeech.config import load_params


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"epochs": 4}}`` -> ``{"train.epochs": 4}``."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def read_yaml_mapping(path: str, kind: str, shape: str) -> dict[str, Any]:
    """A YAML file that must hold a mapping (``shape`` says which, for the error); empty means ``{}``."""
    try:
        with open(path, encoding="utf-8") as handle:
            loaded = yaml.safe_load(handle) or {}
    except OSError as exc:
        raise PipelineError(f"cannot read the {kind} {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise PipelineError(f"the {kind} {path} is not valid YAML: {exc}") from exc
    if not isinstance(loaded, dict):
        raise PipelineError(f"the {kind} {path} must be {shape}")
    return loaded


def read_profile(path: str) -> dict[str, Any]:
    """A profile file: a YAML mapping of overrides, in params.yaml's shape."""
    return read_yaml_mapping(path, "profile", "a mapping of params.yaml sections")


def check_keys(profile: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The profile's overrides by dotted key; each key must already exist in ``params`` (catches typos)."""
    known = flatten(params)
    overrides = flatten(profile)
    for key in overrides:
        if key not in known:
            raise PipelineError(f"profile sets '{key}', which params.yaml does not have")
    return overrides


def apply_profile(params: dict[str, Any], profile: dict[str, Any]) -> dict[str, Any]:
    """``params`` with the profile's overrides applied, as `dvc exp run -S` would set them."""
    merged = copy.deepcopy(params)
    for key, value in check_keys(profile, params).items():
        *sections, name = key.split(".")
        node = merged
        for section in sections:
            node = node[section]
        node[name] = value
    return merged


def set_param_args(profile: dict[str, Any], params: dict[str, Any]) -> list[str]:
    """``-S`` arguments for every override; each key must already exist in ``params`` (catches typos)."""
    args = []
    for key, value in check_keys(profile, params).items():
        # JSON spelling is valid YAML, so dvc parses numbers, booleans and null back to their types.
        args += ["-S", f"{key}={json.dumps(value)}"]
    return args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profile")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    try:
        print(shlex.join(set_param_args(read_profile(args.profile), load_params(args.params))))
    except PipelineError as exc:
        return fail("profile", str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
