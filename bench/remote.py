"""Sharing through an S3 remote against retraining: push and pull of a run's outputs, and a teammate's
`git clone && dvc pull` against `make run`, in one run.

    python -m bench.remote                       # retrains: `make run` in a fresh clone of this repo (minutes)
    python -m bench.remote --project DIR [--retrain-s S]  # an already built run, e.g. a clean clone after `make run`

The server is the one `make s3-server` starts (rclone serve s3 on 127.0.0.1, hatespeech.workflow.s3_server),
in a temporary folder. The run's outputs are pushed from its DVC cache (HEAD's, what `dvc push` sends), then a
fresh clone is configured with the same lines and pulls them; the report gives MB/s both ways, the clone-and-pull
time against the retraining time as a ratio (goal: a teammate gets the model at least 50x faster than by
retraining), and checks that the teammate's outputs are the run's, byte for byte (`dvc status` clean).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.report import cpu_model, table, write_report
from hatespeech.io import sha256_file
from hatespeech.testing import dvc, free_port, make_target, run, run_dvc_lines
from hatespeech.threads import usable_cpus
from hatespeech.workflow.s3_server import S3Server

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"pull_vs_retrain": 50.0}  # at least: (make run seconds) / (git clone + dvc pull seconds)
MODEL_FILE = "models/model/model.safetensors"


def _timed(function: Any, *args: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def retrain(workdir: Path) -> tuple[Path, float, str]:
    """A fresh clone of this repository's HEAD, its pipeline run from nothing; returns (project, seconds, how)."""
    project = workdir / "trainer"
    run(["git", "clone", "-q", str(ROOT), str(project)], cwd=workdir)
    seconds, _ = _timed(run, make_target("run"), project)
    return project, seconds, "make run in a fresh clone (this environment's venv; its set-up not counted)"


def reproduced(project: Path) -> bool:
    """Whether the run wrote exactly the committed dvc.lock and metrics (the reference run, reproduced)."""
    return run(["git", "status", "--porcelain", "dvc.lock", "metrics"], cwd=project).stdout.strip() == ""


def _bucket_bytes(server: S3Server) -> tuple[int, int]:
    files = [path for path in (server.directory / "data" / server.bucket).rglob("*") if path.is_file()]
    return len(files), sum(path.stat().st_size for path in files)


def share(project: Path, workdir: Path) -> dict[str, Any]:
    """Push ``project``'s outputs to a fresh local S3 server, then clone and pull them as a teammate would."""
    if not (project / "dvc.lock").is_file():
        raise BenchError(f"{project} has no dvc.lock: --project must be a built pipeline")
    with S3Server(workdir / "s3", free_port()) as server:
        # The pusher: a clone of the run that uses its DVC cache, so the run's own workspace is not touched.
        pusher = workdir / "pusher"
        run(["git", "clone", "-q", str(project), str(pusher)], cwd=workdir)
        cache = dvc(project, "cache", "dir").stdout.strip()  # the run's cache, wherever its config puts it
        dvc(pusher, "cache", "dir", "--local", cache)
        run_dvc_lines(pusher, server.remote_commands("bench", local=True))
        push_s, _ = _timed(dvc, pusher, "push")
        objects, size = _bucket_bytes(server)

        teammate = workdir / "teammate"
        clone_s, _ = _timed(run, ["git", "clone", "-q", str(project), str(teammate)], workdir)
        run_dvc_lines(teammate, server.remote_commands("bench", local=True))
        pull_s, _ = _timed(dvc, teammate, "pull")
        status = dvc(teammate, "status", "dvc.yaml", "--json", check=False)
    identical = (teammate / MODEL_FILE).is_file() and sha256_file(teammate / MODEL_FILE) == sha256_file(
        project / MODEL_FILE
    )
    megabytes = size / 1e6
    return {
        "objects": objects,
        "megabytes": round(megabytes, 2),
        "push_s": round(push_s, 2),
        "push_mb_per_s": _rate(megabytes, push_s),
        "clone_s": round(clone_s, 2),
        "pull_s": round(pull_s, 2),
        "pull_mb_per_s": _rate(megabytes, pull_s),
        "teammate_status_clean": status.returncode == 0 and status.stdout.strip() in ("", "{}"),
        "teammate_model_identical": identical,
    }


def _rate(megabytes: float, seconds: float) -> float:
    """MB/s to three significant digits: a tiny project's push can be well under 0.05 MB/s, which one decimal
    would print as 0."""
    return float(f"{megabytes / seconds:.3g}")


def render(report: dict[str, Any]) -> str:
    shared = report["share"]
    rows = [
        ["push (dvc push)", shared["megabytes"], shared["objects"], shared["push_s"], shared["push_mb_per_s"]],
        ["pull (dvc pull)", shared["megabytes"], shared["objects"], shared["pull_s"], shared["pull_mb_per_s"]],
    ]
    lines = [
        f"Sharing a run through a local S3 server ({report['machine']})",
        "",
        table(["transfer", "MB", "objects", "s", "MB/s"], rows),
        "",
        table(
            ["a teammate gets the model by", "s", "ratio"],
            [
                ["git clone + dvc pull", report["clone_and_pull_s"], 1.0],
                [f"retraining ({report['retrain_how']})", report["retrain_s"], report["pull_vs_retrain"]],
            ],
        ),
        "",
        f"teammate's `dvc status` clean: {shared['teammate_status_clean']}; "
        f"model byte-identical: {shared['teammate_model_identical']}; "
        f"the run wrote the committed dvc.lock and metrics: {report['run_matches_committed_lock']}",
    ]
    if report.get("targets"):
        lines += ["", table(["target", "value", "goal", ""], [list(target.values()) for target in report["targets"]])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", type=Path, help="an already built run instead of retraining")
    parser.add_argument("--retrain-s", type=float, help="with --project: its measured `make run` time, if known")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "remote.json")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hatespeech-remote-") as scratch:
        workdir = Path(scratch)
        if args.project is not None:
            project, retrain_s = args.project.resolve(), args.retrain_s
            how = "make run, measured before and given as --retrain-s" if retrain_s else "not measured"
        else:
            project, retrain_s, how = retrain(workdir)
        shared = share(project, workdir)
        matches_lock = reproduced(project)
    clone_and_pull = shared["clone_s"] + shared["pull_s"]
    ratio = round(retrain_s / clone_and_pull, 1) if retrain_s else None
    report: dict[str, Any] = {
        "command": " ".join(["python", "-m", "bench.remote", *(argv if argv is not None else sys.argv[1:])]),
        "machine": f"{cpu_model()}, {len(usable_cpus())} usable cores",
        "share": shared,
        "clone_and_pull_s": round(clone_and_pull, 2),
        "retrain_s": round(retrain_s, 1) if retrain_s else None,
        "retrain_how": how,
        "pull_vs_retrain": ratio,
        "run_matches_committed_lock": matches_lock,
        "targets": []
        if ratio is None
        else [
            {
                "target": "pull_vs_retrain",
                "value": ratio,
                "goal": f">= {TARGETS['pull_vs_retrain']:g}",
                "met": "met" if ratio >= TARGETS["pull_vs_retrain"] else "MISSED",
            }
        ],
    }
    report["duration_s"] = round(time.perf_counter() - started, 1)
    write_report(args.out, report, render(report))
    return report


if __name__ == "__main__":
    from hatespeech.cli import run_cli

    run_cli("bench", main)
