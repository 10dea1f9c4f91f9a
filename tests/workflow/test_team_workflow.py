"""Share and compare: push to the default local remote, pull in a clone, run cache, experiments, diffs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from helpers import TINY_TRAIN, dvc, git, ran_stages, run, set_params, tree_hashes

from hatespeech.io import sha256_file

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pushed(pipeline, isolated_home):
    """The trained repo after `dvc push --run-cache --all-commits` to the remote that .dvc/config ships.

    --all-commits also sends the outputs of earlier commits' runs, which the run cache points to.
    """
    dvc(pipeline.project, "push", "--run-cache", "--all-commits")
    assert (isolated_home / ".cache/hatespeech-dvc-storage/files").is_dir()  # the default remote of .dvc/config
    return pipeline


def clone(pipeline, name: str) -> Path:
    run(["git", "clone", "-q", str(pipeline.project), name], cwd=pipeline.root)
    return pipeline.root / name


def default_branch(project: Path) -> str:
    return git(project, "rev-parse", "--abbrev-ref", "HEAD").stdout.strip()


def test_teammate_clone_and_pull_gets_identical_artifacts(pushed):
    mate = clone(pushed, "teammate")
    dvc(mate, "pull")
    folders = ("models", "data", "metrics", "plots", "reports")
    mine, theirs = tree_hashes(pushed.project, *folders), tree_hashes(mate, *folders)
    assert "models/model/model.safetensors" in mine and "data/tokenized/dataset_dict.json" in mine
    assert theirs == mine
    assert "Data and pipelines are up to date" in dvc(mate, "status", "dvc.yaml").stdout
    assert ran_stages(dvc(mate, "repro")) == []


def test_run_cache_restores_a_trained_stage_instead_of_training(pushed):
    mate = clone(pushed, "run-cache-user")
    # Back to the first run's learning rate: dvc.lock no longer matches, but the run cache does.
    set_params(mate, "train", learning_rate=TINY_TRAIN["learning_rate"])
    result = dvc(mate, "repro", "--pull", "evaluate")  # up to the test metrics; the stages after run as ever
    assert "Stage 'train' is cached - skipping run, checking out outputs" in result.stdout
    # No training; evaluate may rerun (seconds): the run cache does not carry git-tracked outputs.
    assert set(ran_stages(result)) <= {"evaluate"}
    first_run_metrics = git(pushed.project, "show", f"{pushed.first_commit}:metrics/test.json").stdout
    assert (mate / "metrics/test.json").read_text() == first_run_metrics
    assert (mate / "models/trained/model.safetensors").is_file()


def test_get_and_list_artifacts_by_path(pushed, tmp_path):
    listing = dvc(pushed.root, "ls", str(pushed.project), "models").stdout
    assert "model" in listing
    dvc(tmp_path, "get", str(pushed.project), "models/model", "-o", str(tmp_path / "model"))
    assert sha256_file(tmp_path / "model/model.safetensors") == sha256_file(
        pushed.project / "models/model/model.safetensors"
    )


def test_an_experiment_shows_up_with_its_metrics_and_becomes_a_branch(pushed):
    """One `dvc exp run` (up to evaluate: which stages a train param reruns is the `pipeline` fixture's check, and
    queued experiments are the sweep test's) seen through exp show, metrics/params diff, exp branch and apply."""
    lab = clone(pushed, "lab")
    dvc(lab, "pull")
    single = dvc(lab, "exp", "run", "-n", "lr-2e-3", "evaluate", "-S", "train.learning_rate=0.002")
    assert sorted(ran_stages(single)) == ["evaluate", "train"]

    shown = json.loads(dvc(lab, "exp", "show", "--json").stdout)
    runs = {}
    for commit in shown:
        for experiment in commit.get("experiments") or []:
            data = experiment["revs"][0]["data"]
            learning_rate = data["params"]["params.yaml"]["data"]["train"]["learning_rate"]
            runs[learning_rate] = data["metrics"]["metrics/test.json"]["data"]["f1_macro"]
    assert set(runs) == {0.002} and 0 <= runs[0.002] <= 1

    # The table a user reads: changed params and the test metrics, not every Trainer argument.
    header = dvc(lab, "exp", "show", "--only-changed", "--csv").stdout.splitlines()[0].split(",")
    # Several metrics files: DVC qualifies their columns with the file name; one params file (the CV pipeline's
    # cv/params.yaml is not in DVC's view until `make cv`): its columns are the bare keys.
    expected = {"train.learning_rate", "metrics/test.json:f1_macro", "metrics/test.json:tuned.f1_macro"}
    assert expected <= set(header)
    unchanged = [column for column in header if "baseline_test.json" in column or "weight_decay" in column]
    assert not unchanged  # the baseline's metrics and untouched params: hidden

    dvc(lab, "exp", "branch", "lr-2e-3", "lr-2e-3")
    diff = json.loads(dvc(lab, "metrics", "diff", default_branch(lab), "lr-2e-3", "--json").stdout)
    assert any(value.get("diff") for value in diff["metrics/test.json"].values()), diff
    params = json.loads(dvc(lab, "params", "diff", default_branch(lab), "lr-2e-3", "--json").stdout)
    change = params["params.yaml"]["train.learning_rate"]
    assert (change["old"], change["new"]) == (1e-06, 0.002)

    dvc(lab, "exp", "apply", "lr-2e-3")
    assert "learning_rate: 0.002" in (lab / "params.yaml").read_text()


def test_a_local_remote_keeps_settings_out_of_git(pushed, tmp_path):
    mate = clone(pushed, "own-remote")
    dvc(mate, "remote", "add", "--local", "-d", "mine", str(tmp_path / "mine"))
    dvc(mate, "pull", "-r", "local")
    dvc(mate, "push")
    assert (tmp_path / "mine/files/md5").is_dir()
    assert "mine" in (mate / ".dvc/config.local").read_text()
    assert git(mate, "status", "--porcelain").stdout == ""  # .dvc/config untouched, config.local ignored


def test_markdown_comparison_of_two_commits(pushed):
    result = run([sys.executable, "-m", "hatespeech.workflow.compare", "HEAD~1", "HEAD"], cwd=pushed.project)
    report = result.stdout
    assert report.startswith("### Metrics: `HEAD~1` → `HEAD`")
    assert "| metric | HEAD~1 | HEAD | change |" in report
    assert "| metrics/test.json: f1_macro |" in report
    assert "| train.learning_rate | 0.0030 | 1e-06 |" in report
    audit = report[report.index("### Dialect bias audit") : report.index("### Params")]
    assert "\n| transformer." in audit and "| baseline." not in audit, audit  # only the retrained model moved


def test_comparison_tests_each_models_change_from_predictions_on_the_remote(pushed):
    """A fresh clone has no cache: the predictions of both commits come from the DVC remote."""
    mate = clone(pushed, "reviewer")
    report = run([sys.executable, "-m", "hatespeech.workflow.compare", "HEAD~1", "HEAD"], cwd=mate).stdout
    section = report[report.index("### Is the change real?") :]
    transformer = section[section.index("**transformer**") : section.index("**baseline**")]
    baseline = section[section.index("**baseline**") : section.index("**ensemble**")]
    assert "| metric | old | new | change | 95% interval | p | significant at 5%? |" in transformer
    assert "| f1_macro |" in section[section.index("**ensemble**") :]  # the third model, tested the same way
    assert "| f1_macro |" in transformer and "McNemar:" in transformer
    # Only a train param changed: the baseline's predictions are the same rows, the same labels.
    for metric in ("accuracy", "f1_weighted", "f1_macro", "f1_hate_speech"):
        row = next(line for line in baseline.splitlines() if line.startswith(f"| {metric} |"))
        assert row.endswith("| +0.0000 | +0.0000 to +0.0000 | 1 | no |"), row
    assert "0 tweets only `new` gets right, 0 only `old`; p = 1." in baseline


def test_make_sweep_queues_a_file_of_experiments_and_ranks_them_by_validation(pushed):
    lab = clone(pushed, "sweep-lab")
    dvc(lab, "pull")
    (lab / "tiny-sweep.yaml").write_text(
        "target: evaluate\n"
        "experiments:\n"
        "  too-small: {train: {learning_rate: 1.0e-6}}\n"  # HEAD's: learns nothing
        "  learns: {train: {learning_rate: 3.0e-3}}\n"
    )
    result = run(
        [sys.executable, "-m", "hatespeech.workflow.sweep", "tiny-sweep.yaml", "--wait", "--poll", "2"], cwd=lab
    )
    assert result.returncode == 0, result.stderr
    table = result.stdout[result.stdout.index("experiment ") :].splitlines()
    rows = [line for line in table[2:] if line.startswith("└─")]
    assert [row.split()[1] for row in rows] == ["learns", "too-small"]

    shown = json.loads(dvc(lab, "exp", "show", "--json").stdout)
    validation = {
        experiment["name"]: experiment["revs"][0]["data"]["metrics"]["metrics/validation.json"]["data"]["f1_macro"]
        for commit in shown
        for experiment in commit.get("experiments") or []
    }
    assert validation["learns"] > validation["too-small"]
    assert "train.learning_rate=0.003" in " ".join(rows)  # the params it changed are in the table
