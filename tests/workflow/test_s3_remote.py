"""The team workflow through a real S3 server (rclone serve s3 on 127.0.0.1, started as `make s3-server` starts it):
push, a teammate's pull, the run cache, experiments and comparisons across clones, byte-reproducible outputs (a
teammate's clean rerun at another commit uploads nothing new); wrong credentials and a server stopped in the
middle of a push."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from helpers import (
    PINNED_THREADS,
    STAGES,
    TINY_TRAIN,
    dvc,
    free_port,
    git,
    init_repo,
    make_project,
    make_target,
    ran_stages,
    run,
    run_dvc_lines,
    set_params,
    tool_env,
    tree_hashes,
)

from hatespeech.workflow.s3_server import PROFILE, S3Server, load_or_create_credentials

pytestmark = pytest.mark.e2e

OUTPUT_FOLDERS = ("models", "data", "metrics", "plots", "reports", "predictions")


def start_make_s3_server(directory: Path, port: int) -> tuple[subprocess.Popen, str]:
    """`make s3-server` as a user runs it; returns the process and what it printed once ready (bounded wait)."""
    output = directory.parent / f"{directory.name}.out"
    with open(output, "w") as handle:
        process = subprocess.Popen(
            make_target("s3-server", f"S3_PORT={port}", f"S3_DIR={directory}"),
            cwd=Path(__file__).parents[2],
            env=tool_env(),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the teardown stops make and the server together
        )
    deadline = time.monotonic() + 60
    while "Ctrl-C stops the server" not in output.read_text():
        assert process.poll() is None, f"make s3-server exited ({process.returncode}): {output.read_text()}"
        assert time.monotonic() < deadline, f"make s3-server was not ready within 60 s: {output.read_text()}"
        time.sleep(0.1)
    return process, output.read_text()


def clone(team: SimpleNamespace, name: str, credentials: bool = True) -> Path:
    """A fresh clone of the team's git remote (no DVC cache); with ``credentials`` the `--local` lines applied."""
    run(["git", "clone", "-q", str(team.origin), name], cwd=team.root)
    mate = team.root / name
    if credentials:
        run_dvc_lines(mate, team.local_lines)
    return mate


@pytest.fixture(scope="module")
def s3_team(tmp_path_factory: pytest.TempPathFactory, pipeline: SimpleNamespace):
    """A live `make s3-server`; project A configured with the lines it printed (committed first, as a team would:
    `dvc push --all-commits` sends each commit's outputs where that commit's config says), run twice (committed),
    pushed to the server with its run cache and to a bare git remote.

    A's two runs are the pipeline fixture's first and third (the same data, model, params and code): A's cache
    starts as a copy of that fixture's, so `dvc repro` restores them from the run cache instead of training again;
    the teammate's clean rerun below is the one that runs every stage."""
    root = tmp_path_factory.mktemp("s3-team")
    server_dir = root / "s3"
    process, printed = start_make_s3_server(server_dir, free_port())
    try:
        lines = [line.strip() for line in printed.splitlines() if line.strip().startswith("dvc remote ")]
        assert len(lines) == 5, printed

        project = make_project(root / "a", str(pipeline.data), pipeline.checkpoint)
        init_repo(project)
        run_dvc_lines(project, lines)
        git(project, "add", ".dvc/config")
        git(project, "commit", "-qm", "share through the team's S3 remote")
        shutil.copytree(pipeline.run_cache, project / ".dvc" / "cache", dirs_exist_ok=True)
        for message, learning_rate in (("first run", TINY_TRAIN["learning_rate"]), ("smaller learning rate", 1e-6)):
            set_params(project, "train", learning_rate=learning_rate)
            result = dvc(project, "repro", env=PINNED_THREADS)
            assert ran_stages(result) == [] and "is cached - skipping run" in result.stdout, result.stdout
            git(project, "add", "-A")
            git(project, "commit", "-qm", message)
        dvc(project, "push", "--run-cache", "--all-commits")

        origin = root / "origin.git"
        run(["git", "init", "-q", "--bare", str(origin)], cwd=root)
        git(project, "remote", "add", "origin", str(origin))
        git(project, "push", "-q", "origin", "--all")
        yield SimpleNamespace(
            root=root,
            project=project,
            first_commit=git(project, "rev-parse", "HEAD~1").stdout.strip(),
            origin=origin,
            printed=printed,
            local_lines=[line for line in lines if "--local" in line],
            server_dir=server_dir,
            objects=server_dir / "data/hatespeech/dvc/files/md5",
        )
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_make_s3_server_prints_working_lines_and_keeps_the_keys_out_of_git(s3_team):
    credentials = load_or_create_credentials(s3_team.server_dir / "credentials")
    assert (s3_team.server_dir / "credentials").stat().st_mode & 0o777 == 0o600
    assert credentials.secret_access_key not in s3_team.printed
    # The bucket and endpoint are committed; the credentials are referenced from the git-ignored config.local.
    committed = (s3_team.project / ".dvc/config").read_text()
    assert "s3://hatespeech/dvc" in committed and "endpointurl = http://127.0.0.1:" in committed
    assert "credentialpath" not in committed and "profile" not in committed
    assert f"profile = {PROFILE}" in (s3_team.project / ".dvc/config.local").read_text()
    history = git(s3_team.project, "log", "-p", "--all").stdout
    assert credentials.access_key_id not in history and credentials.secret_access_key not in history
    assert sum(1 for path in s3_team.objects.rglob("*") if path.is_file()) > 10  # the pushed outputs, as objects


def test_teammate_clone_and_pull_from_the_server_gets_identical_outputs(s3_team):
    mate = clone(s3_team, "b")
    dvc(mate, "pull")
    mine, theirs = tree_hashes(s3_team.project, *OUTPUT_FOLDERS), tree_hashes(mate, *OUTPUT_FOLDERS)
    assert "models/model/model.safetensors" in mine and "models/baseline/model.skops" in mine
    assert theirs == mine
    assert "Data and pipelines are up to date" in dvc(mate, "status", "dvc.yaml").stdout
    assert ran_stages(dvc(mate, "repro")) == []


def cached_outputs(project: Path) -> dict[str, str]:
    """Every cached output in dvc.lock (``cache: false`` ones are git's, not the remote's): path -> md5."""
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    return {
        out["path"]: out["md5"]
        for stage in lock["stages"].values()
        for out in stage.get("outs", [])
        if out.get("cache", True)
    }


def test_a_teammates_clean_rerun_at_another_commit_caches_the_same_bytes_and_uploads_nothing(s3_team):
    mate = clone(s3_team, "b-rerun")
    (mate / "NOTES.md").write_text("a commit that changes no input\n")
    git(mate, "add", "NOTES.md")
    git(mate, "commit", "-qm", "another commit")
    ran = ran_stages(dvc(mate, "repro", env=PINNED_THREADS))
    # No cache here: every stage runs, but compare, whose only output is git's (comparison.json) and whose inputs
    # came out byte-identical, is already up to date.
    assert set(ran) == set(STAGES) - {"compare"}, ran
    ours, theirs = cached_outputs(s3_team.project), cached_outputs(mate)
    assert set(ours) == set(theirs) and {"models/baseline", "models/model", "models/onnx"} <= set(ours)
    differing = sorted(path for path in ours if ours[path] != theirs[path])
    assert not differing, f"outputs whose bytes differ between two clean runs: {differing}"
    assert "Everything is up to date" in dvc(mate, "push").stdout  # the remote already holds every byte


def test_run_cache_on_the_server_restores_a_trained_stage(s3_team):
    mate = clone(s3_team, "b-run-cache")
    set_params(mate, "train", learning_rate=TINY_TRAIN["learning_rate"])  # A's first run: in the run cache only
    result = dvc(mate, "repro", "--pull", "evaluate")
    assert "Stage 'train' is cached - skipping run, checking out outputs" in result.stdout
    assert set(ran_stages(result)) <= {"evaluate"}
    first_run = git(s3_team.project, "show", f"{s3_team.first_commit}:metrics/test.json").stdout
    assert (mate / "metrics/test.json").read_text() == first_run


def test_an_experiment_travels_through_the_server_and_compares_from_an_empty_cache(s3_team):
    lab = clone(s3_team, "b-lab")
    dvc(lab, "pull")
    # The baseline's regularization: an experiment that trains no transformer (the suite's time).
    dvc(lab, "exp", "run", "-n", "b-c", "baseline", "-S", "baseline.C=0.25")
    dvc(lab, "exp", "push", "origin", "b-c")  # git refs to origin, outputs to the S3 remote

    dvc(s3_team.project, "exp", "pull", "origin", "b-c")
    table = run(make_target("experiments"), cwd=s3_team.project).stdout
    row = next(line for line in table.splitlines() if "b-c" in line)
    assert "0.25" in row and "!" not in row, table  # B's changed param and B's metrics, in A's table

    # A reviewer with no DVC cache and credentials from the environment instead of config.local.
    reviewer = clone(s3_team, "reviewer", credentials=False)
    dvc(reviewer, "exp", "pull", "--no-cache", "origin", "b-c")
    keys = load_or_create_credentials(s3_team.server_dir / "credentials")
    env = {"AWS_ACCESS_KEY_ID": keys.access_key_id, "AWS_SECRET_ACCESS_KEY": keys.secret_access_key}
    result = run([sys.executable, "-m", "hatespeech.workflow.compare", "HEAD", "b-c"], cwd=reviewer, env=env)
    section = result.stdout[result.stdout.index("### Is the change real?") :]
    assert "**transformer**" in section and "**baseline**" in section and "no paired test" not in section
    assert not (reviewer / "models/model").exists()  # nothing was checked out: the predictions came from the server


def test_wrong_credentials_fail_with_one_clear_error_and_write_nothing(s3_team):
    mate = clone(s3_team, "wrong-keys", credentials=False)
    dvc(mate, "remote", "modify", "--local", "team", "access_key_id", "HSWRONGKEY")
    dvc(mate, "remote", "modify", "--local", "team", "secret_access_key", "not-the-secret")
    result = dvc(mate, "pull", check=False)
    assert result.returncode != 0
    errors = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("ERROR")]
    assert errors and "failed to connect to s3" in errors[0] and "403" in errors[0], errors
    assert "Traceback" not in result.stderr and "not-the-secret" not in result.stdout + result.stderr
    # Nothing but what git itself checked out: no output, whole or partial.
    assert set(tree_hashes(mate, *OUTPUT_FOLDERS)) <= set(git(mate, "ls-files").stdout.splitlines())
    cache = mate / ".dvc/cache"
    assert not cache.exists() or not [path for path in cache.rglob("*") if path.is_file()]


def test_a_push_cut_off_by_the_server_stopping_completes_on_rerun(s3_team, tmp_path):
    """The server dies (SIGKILL) part-way through a slowed-down push; after a restart, the same push finishes,
    `dvc status --cloud` is clean, and a third clone pulls byte-identical outputs."""
    server = S3Server(tmp_path / "s3", free_port(), bandwidth_limit="256k").start()
    project = s3_team.project
    run_dvc_lines(project, server.remote_commands("midway", local=True, default=False))  # A's default stays the team's
    objects = server.directory / f"data/{server.bucket}/dvc/files/md5"
    try:
        push = subprocess.Popen(
            [sys.executable, "-m", "dvc", "push", "-r", "midway"],
            cwd=project,
            env={**tool_env(), "AWS_MAX_ATTEMPTS": "1"},  # fail at once, not after ~50 s of botocore's retries
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not objects.is_dir() or sum(1 for path in objects.rglob("*") if path.is_file()) < 3:
            assert push.poll() is None, f"the push ended before the server was stopped: {push.communicate()[0]}"
            assert time.monotonic() < deadline, "no object reached the server within 60 s"
            time.sleep(0.05)
        server.stop(kill=True)
        output = push.communicate(timeout=300)[0]
        assert push.returncode != 0, output
        assert "Could not connect to the endpoint URL" in output

        server = S3Server(server.directory, server.port).start()  # the same data and credentials, full speed
        dvc(project, "push", "-r", "midway")
        assert "in sync" in dvc(project, "status", "--cloud", "-r", "midway").stdout

        third = clone(s3_team, "third", credentials=False)
        run_dvc_lines(third, server.remote_commands("midway", local=True))
        dvc(third, "pull", "-r", "midway")
        assert tree_hashes(third, *OUTPUT_FOLDERS) == tree_hashes(project, *OUTPUT_FOLDERS)
    finally:
        server.stop()


def test_bench_remote_measures_push_pull_and_the_ratio_to_retraining(s3_team, tmp_path):
    out = tmp_path / "remote.json"
    command = [sys.executable, "-m", "bench.remote", "--project", str(s3_team.project), "--retrain-s", "100"]
    printed = run([*command, "--out", str(out)], cwd=Path(__file__).parents[2]).stdout
    report = json.loads(out.read_text())
    shared = report["share"]
    assert shared["objects"] > 10 and shared["push_mb_per_s"] > 0 and shared["pull_mb_per_s"] > 0
    assert shared["teammate_status_clean"] and shared["teammate_model_identical"]
    assert report["pull_vs_retrain"] == round(100 / report["clone_and_pull_s"], 1)
    assert "git clone + dvc pull" in printed and "MB/s" in printed and "pull_vs_retrain" in printed
