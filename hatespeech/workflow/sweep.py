"""Queue a sweep of experiments from a YAML file and run them one at a time (`make sweep`).

    python -m hatespeech.workflow.sweep sweep.yaml          # queue every experiment, start one DVC queue worker, return
    python -m hatespeech.workflow.sweep sweep.yaml --wait   # ... and wait, then print the table, best validation first

Each experiment is `dvc exp run --queue -n NAME [TARGET] -S key=value ...`: it runs in its own temporary copy
of the workspace, so work here goes on, and `dvc exp show` / `make experiments SORT=val_f1_macro` compare them.
Every key must exist in params.yaml (a typo fails before anything is queued).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from typing import Any

from hatespeech import PipelineError
from hatespeech.cli import fail
from hatespeech.config import load_params
from hatespeech.workflow.dvc import dvc_json, run_dvc
from hatespeech.workflow.experiments import experiments_table
from hatespeech.workflow.overrides import read_yaml_mapping, set_param_args

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # what git accepts in the experiment's ref name


@dataclass(frozen=True)
class Sweep:
    target: str | None  # the stage each experiment runs up to; None: the whole pipeline
    experiments: dict[str, dict[str, Any]]  # name -> params.yaml overrides

    def commands(self, params: dict[str, Any]) -> list[list[str]]:
        """One `dvc exp run --queue` command per experiment, its overrides checked against ``params``."""
        return [
            ["exp", "run", "--queue", "-n", name, *([self.target] if self.target else []), *set_param_args(o, params)]
            for name, o in self.experiments.items()
        ]


def read_sweep(path: str) -> Sweep:
    shape = "a mapping with 'experiments' (name: overrides) and optionally 'target'"
    spec = read_yaml_mapping(path, "sweep file", shape)
    unknown = sorted(set(spec) - {"target", "experiments"})
    experiments = spec.get("experiments")
    if unknown or not isinstance(experiments, dict) or not experiments:
        extra = f"; unknown: {', '.join(unknown)}" if unknown else ""
        raise PipelineError(f"the sweep file {path} must be {shape}{extra}")
    for name, overrides in experiments.items():
        if not NAME.match(str(name)):
            raise PipelineError(f"experiment name '{name}' in {path}: use letters, digits, '.', '_' and '-'")
        if not isinstance(overrides, dict) or not overrides:
            raise PipelineError(f"experiment '{name}' in {path} needs a mapping of params.yaml overrides")
    target = spec.get("target")
    return Sweep(str(target) if target else None, {str(name): o for name, o in experiments.items()})


def queue_states(names: set[str]) -> dict[str, str]:
    """The queue status (Queued, Running, Success, Failed) of each experiment of ``names`` it lists."""
    states = {}
    for line in run_dvc("queue", "status").stdout.splitlines():
        cells = line.split()  # task, name, created (two cells: "11:40 AM"), status
        if len(cells) >= 2 and cells[1] in names:
            states[cells[1]] = cells[-1]
    return states


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweep", help="YAML file: experiments (name: params.yaml overrides) and an optional target")
    parser.add_argument("--jobs", type=int, default=1, help="experiments at once (default 1: they share the CPU)")
    parser.add_argument("--wait", action="store_true", help="wait for the sweep, then print its table")
    parser.add_argument("--poll", type=float, default=10.0, help="seconds between queue checks with --wait")
    args = parser.parse_args(argv)
    try:
        sweep = read_sweep(args.sweep)
        commands = sweep.commands(load_params())  # every experiment checked before any is queued
        for command in commands:
            run_dvc(*command)
            print(f"[sweep] queued {command[4]}: {' '.join(command[5:])}", flush=True)
        run_dvc("queue", "start", "--jobs", str(args.jobs))
        names = set(sweep.experiments)
        if not args.wait:
            print(
                "[sweep] running: follow with `dvc queue status` / `dvc queue logs NAME -f`; compare with "
                "`make experiments SORT=val_f1_macro`",
                flush=True,
            )
            return 0
        started = time.monotonic()
        while waiting := {n for n, state in queue_states(names).items() if state in ("Queued", "Running")}:
            print(f"[sweep] {len(waiting)} of {len(names)} still to finish ({time.monotonic() - started:.0f} s)")
            time.sleep(args.poll)
        sys.stdout.write(experiments_table(dvc_json("exp", "show"), sort_by="val_f1_macro"))
        broken = {name for name, state in queue_states(names).items() if state == "Failed"}
        if broken:
            return fail("sweep", f"experiment(s) failed: {', '.join(sorted(broken))} (see `dvc queue logs NAME`)")
    except PipelineError as exc:
        return fail("sweep", str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
