"""Wall time of the data stages (the real stage scripts) and of DVC's own overhead on a built pipeline.

Projects are copied and driven with the helpers the tests use too (:mod:`hatespeech.testing`: ``make_project``,
``init_repo``, ``run``, ``dvc``, ``stage_command``), so the stages run with the commands and environment of
dvc.yaml and the end-to-end tests.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from hatespeech.testing import (
    TINY_TRAIN,
    build_tiny_bert,
    dvc,
    init_repo,
    make_project,
    make_rows,
    ran_stages,
    run,
    stage_command,
    write_csv,
)

DATA_STAGES = ("download", "split", "augment", "tokenize_splits")
# What hatespeech.cli.run_stage logs at the end of every stage, to the millisecond.
_STAGE_TIME = re.compile(r"stage \w+ finished in ([0-9.]+) s$", re.MULTILINE)


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 4)


def new_project(directory: Path, data: Path, checkpoint: str) -> Path:
    """A git + DVC repository of the project with params pointing at ``data`` and ``checkpoint``, nothing run yet.

    Its train settings are the tests' tiny ones for one epoch: only a pipeline built here trains with them, and
    what a no-op `dvc repro` costs does not depend on how long training took.
    """
    project = make_project(directory, str(data), checkpoint, train={**TINY_TRAIN, "epochs": 1})
    init_repo(project)
    return project


def time_data_stages(project: Path, repeats: int) -> dict[str, Any]:
    """Run download, split, augment and tokenize_splits in ``project`` ``repeats`` times each; median times per stage.

    Their outputs stay in place: the training benchmark reads ``data/tokenized``.
    """
    stages: dict[str, Any] = {}
    for stage in DATA_STAGES:
        walls, logged = [], []
        for _ in range(repeats):
            started = time.perf_counter()
            result = run([sys.executable, *stage_command(stage)], cwd=project, check=False)
            walls.append(time.perf_counter() - started)
            match = _STAGE_TIME.search(result.stderr)
            if result.returncode != 0 or match is None:
                raise BenchError(f"the {stage} stage failed ({result.returncode}):\n{result.stderr.strip()}")
            logged.append(float(match.group(1)))
        stages[stage] = {
            "stage_s": _median(logged),
            "process_s": _median(walls),
            "runs_stage_s": [round(v, 4) for v in logged],
            "runs_process_s": [round(v, 3) for v in walls],
        }
    manifest = json.loads((project / "data" / "raw" / "manifest.json").read_text())
    return {
        "data": manifest["source"],
        "rows": manifest["rows"],
        "repeats": repeats,
        "measure": (
            "stage_s: the stage's own time, as hatespeech.cli.run_stage measures and logs it (its main(), after "
            "interpreter start-up and the script's imports); process_s: wall time of the whole "
            "`python stages/<script>` process, as dvc repro runs it"
        ),
        "stages": stages,
    }


def record_data_stages(project: Path) -> Path:
    """Record the outputs :func:`time_data_stages` left in ``project`` as its data stages' results (`dvc commit`),
    so a no-op `dvc repro` of those stages can be timed without running the rest of the pipeline."""
    dvc(project, "commit", "--force", *DATA_STAGES)
    return project


def tiny_inputs(workdir: Path) -> tuple[Path, Path]:
    """The tests' synthetic tweets (a CSV in the authors' format) and tiny BERT, written under ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    return write_csv(workdir / "synthetic-labeled_data.csv", make_rows()), build_tiny_bert(workdir / "tiny-bert")


def build_tiny_pipeline(workdir: Path) -> Path:
    """A fully built pipeline on the tests' synthetic tweets and tiny BERT."""
    data, model = tiny_inputs(workdir / "tiny-inputs")
    project = new_project(workdir / "tiny-pipeline", data, str(model))
    dvc(project, "repro")
    return project


def time_noop_pipeline(project: Path, repeats: int, stages: Sequence[str] = ()) -> dict[str, Any]:
    """Median wall time of `dvc repro` and `dvc status` on an up-to-date pipeline (neither may run a stage).

    Both cover the main pipeline, dvc.yaml, as `dvc repro` does, or only ``stages`` (and what they depend on) where
    given; cross-validation (cv/pipeline.yaml) is not part of it.
    """
    if not (project / "dvc.yaml").is_file():
        raise BenchError(f"{project} has no dvc.yaml: --project must be the root of a built pipeline")
    targets = list(stages) or ["dvc.yaml"]
    status = dvc(project, "status", *targets, "--json", check=False)
    if status.returncode != 0:
        raise BenchError(f"`dvc status` failed in {project}:\n{status.stderr.strip()}")
    changes = json.loads(status.stdout or "{}")
    if changes:
        # Refuse rather than let `dvc repro` start a real training run.
        raise BenchError(
            f"the pipeline in {project} is not up to date (changed: {', '.join(sorted(changes))}); "
            "run `dvc repro` there first, or leave out --project"
        )
    timings: dict[str, list[float]] = {"repro": [], "status": []}
    for _ in range(repeats):
        for command in ("repro", "status"):
            started = time.perf_counter()
            result = dvc(project, command, *(targets if command == "status" else stages))
            timings[command].append(time.perf_counter() - started)
            if command == "repro" and ran_stages(result):
                raise BenchError(f"`dvc repro` in {project} ran {ran_stages(result)}: it was not a no-op")
    return {
        "project": str(project),
        "stages": list(stages) or "all",
        "repeats": repeats,
        "noop_repro_s": _median(timings["repro"]),
        "status_s": _median(timings["status"]),
        "runs_repro_s": [round(v, 3) for v in timings["repro"]],
        "runs_status_s": [round(v, 3) for v in timings["status"]],
    }
