"""Turn a YAML profile of parameter overrides into `dvc exp run -S key=value` arguments.

    python -m hatespeech.profile profiles/offline-cpu.yaml   # prints: -S train.epochs=4 ...
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from typing import Any

import yaml

from hatespeech import PipelineError


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


def set_param_args(profile: dict[str, Any], params: dict[str, Any]) -> list[str]:
    """``-S`` arguments for every override; each key must already exist in ``params`` (catches typos)."""
    known = flatten(params)
    args = []
    for key, value in flatten(profile).items():
        if key not in known:
            raise PipelineError(f"profile sets '{key}', which params.yaml does not have")
        # JSON spelling is valid YAML, so dvc parses numbers, booleans and null back to their types.
        args += ["-S", f"{key}={json.dumps(value)}"]
    return args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profile")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    with open(args.profile, encoding="utf-8") as handle:
        profile = yaml.safe_load(handle) or {}
    with open(args.params, encoding="utf-8") as handle:
        params = yaml.safe_load(handle) or {}
    try:
        print(shlex.join(set_param_args(profile, params)))
    except PipelineError as exc:
        print(f"error: {args.profile}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
