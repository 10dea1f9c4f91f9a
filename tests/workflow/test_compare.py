"""The Markdown comparison of two revisions, and a revision DVC cannot load (the rest of the dvc side is covered in
test_team_workflow.py)."""

import json
import sys
from pathlib import Path

import pytest
import yaml
from helpers import dvc, git, run

from hatespeech import PipelineError
from hatespeech.workflow.compare import markdown_report


def test_changed_metrics_and_params_become_table_rows():
    report = markdown_report(
        {
            "metrics/test.json": {
                "f1_macro": {"old": 0.5, "new": 0.625, "diff": 0.125},
                "examples": {"old": None, "new": 26},
            }
        },
        {"params.yaml": {"train.class_weights": {"old": "none", "new": "sqrt"}}},
        "main",
        "feature",
    )
    assert report.splitlines()[:5] == [
        "### Metrics: `main` → `feature`",
        "",
        "| metric | main | feature | change |",
        "|---|---:|---:|---:|",
        "| metrics/test.json: examples | — | 26 | — |",
    ]
    assert "| metrics/test.json: f1_macro | 0.5000 | 0.6250 | +0.1250 |" in report
    assert "| train.class_weights | `none` | `sqrt` |" in report


def test_nothing_changed():
    report = markdown_report({}, {}, "a", "b")
    assert "No metric changed." in report and "No param changed." in report and "No audit rate changed." in report


def test_the_dialect_audits_rates_get_a_table_of_their_own():
    audit = {
        "transformer.aae_vs_white.false_flag_neither": {"old": 3.5, "new": 2.0, "diff": -1.5},
        "transformer.aae.false_flag_neither": {"old": 0.21, "new": 0.12, "diff": -0.09},
        "transformer.aae_vs_white.ci95.false_flag_neither.low": {"old": 0.8, "new": 0.5, "diff": -0.3},
        "transformer.aae.support.false_flag_neither": {"old": 19, "new": 19, "diff": 0},
        "mitigation.validation.offset": {"old": 1.8, "new": 1.0, "diff": -0.8},
    }
    report = markdown_report({"metrics/audit.json": audit}, {}, "main", "pr")
    section = report[report.index("### Dialect bias audit") : report.index("### Params")]
    assert "No metric changed." in report  # the audit's rows are not repeated in the metrics table
    assert "| transformer.aae_vs_white.false_flag_neither | 3.5000 | 2.0000 | -1.5000 |" in section
    assert "| transformer.aae.false_flag_neither | 0.2100 | 0.1200 | -0.0900 |" in section
    assert "support" not in section and "ci95" not in section and "offset" not in section


def test_the_functional_suites_scores_get_a_table_of_their_own():
    functional = {
        "transformer.overall.accuracy": {"old": 0.61, "new": 0.83, "diff": 0.22},
        "transformer.functionalities.negated_hate.accuracy": {"old": 0.4, "new": 0.9, "diff": 0.5},
        "transformer.disguised_tweets.kinds.leet.flag_rate": {"old": 0.5, "new": 0.95, "diff": 0.45},
        "transformer.overall.cases": {"old": 9726, "new": 9727, "diff": 1},
        "transformer.weakest.negated_hate": {"old": 0.4, "new": None},
    }
    report = markdown_report({"metrics/functional.json": functional}, {}, "main", "pr")
    section = report[report.index("### Functional suite") : report.index("### Params")]
    assert "No metric changed." in report
    assert "| transformer.functionalities.negated_hate.accuracy | 0.4000 | 0.9000 | +0.5000 |" in section
    assert "| transformer.disguised_tweets.kinds.leet.flag_rate | 0.5000 | 0.9500 | +0.4500 |" in section
    assert "cases" not in section and "weakest" not in section


def _run(name, rev, params, metrics, validation=None, functional=None):
    files = {"metrics/test.json": metrics, "metrics/validation.json": validation, "metrics/functional.json": functional}
    data = {
        "params": {"params.yaml": {"data": params}},
        "metrics": {path: {"data": values} for path, values in files.items() if values},
    }
    return {"rev": rev, "name": name, "data": data}


def test_experiments_table_shows_changed_params_and_six_metrics_in_120_columns():
    from hatespeech.workflow.experiments import experiments_table

    base = {"train": {"epochs": 4, "learning_rate": 5e-05}, "base": {"seed": 42}}
    metrics = {
        "accuracy": 0.9097,
        "f1_weighted": 0.9102,
        "f1_macro": 0.7838,
        "per_class": {"hate_speech": {"f1": 0.5303}},
    }
    shown = [
        _run(
            None,
            "workspace",
            base,
            metrics,
            validation={"f1_macro": 0.7729},
            functional={
                "transformer": {"overall": {"accuracy": 0.8312}, "disguised_tweets": {"lowest_flag_rate": 0.91}}
            },
        ),
        {
            **_run("main", "a" * 40, base, None),  # main before its first run: no metrics
            "experiments": [
                {
                    "name": "lr-2e5",
                    "revs": [
                        _run(
                            "lr-2e5",
                            "b" * 40,
                            {**base, "train": {"epochs": 4, "learning_rate": 2e-05}},
                            {**metrics, "f1_macro": 0.79},
                            validation={"f1_macro": 0.7801},
                        )
                    ],
                }
            ],
        },
    ]
    table = experiments_table(shown)
    lines = table.splitlines()
    assert all(len(line) <= 120 for line in lines)
    assert lines[0].split()[-6:] == ["val_f1_macro", "accuracy", "f1_macro", "f1_hate", "suite", "disguised"]
    workspace, main, experiment = lines[2:]
    assert workspace.startswith("workspace")
    assert workspace.split()[-6:] == ["0.7729", "0.9097", "0.7838", "0.5303", "0.8312", "0.9100"]
    assert main.startswith("main") and main.split()[-6:] == ["!"] * 6
    assert "lr-2e5" in experiment and "train.learning_rate=2e-05" in experiment
    assert "train.epochs" not in table and "base.seed" not in table  # unchanged params are left out

    # Sorted by validation macro F1: the experiment first, the row without metrics last.
    ordered = experiments_table(shown, sort_by="val_f1_macro").splitlines()[2:]
    assert [line.split()[0] for line in ordered] == ["└─", "workspace", "main"]
    with pytest.raises(PipelineError, match="cannot sort by 'loss'"):
        experiments_table(shown, sort_by="loss")


# A revision DVC cannot load: real git and dvc in a small repo (a few seconds, no pipeline run).


def _toy_project(path: Path, metrics: str = '{"f1_macro": 0.5}', learning_rate: float = 0.001) -> Path:
    """A DVC project of one stage with a git-tracked metric and a param (nothing to run: diffs read dvc.yaml)."""
    path.mkdir()
    git(path, "init", "-q")
    dvc(path, "init", "-q")
    (path / "metrics").mkdir()
    stage = {"cmd": "echo", "params": ["train"], "metrics": [{"metrics/test.json": {"cache": False}}]}
    (path / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"evaluate": stage}}))
    _write_run(path, metrics, learning_rate)
    git(path, "add", "-A")
    git(path, "commit", "-qm", "first run")
    return path


def _write_run(path: Path, metrics: str, learning_rate: float) -> None:
    (path / "metrics/test.json").write_text(metrics)
    (path / "params.yaml").write_text(yaml.safe_dump({"train": {"learning_rate": learning_rate}}))


def _compare(project: Path, *revisions: str):
    return run([sys.executable, "-m", "hatespeech.workflow.compare", *revisions], cwd=project, check=False)


@pytest.fixture
def team_remote_after_the_first_run(tmp_path):
    """As docs/team-workflow.md sets it up: the team remote committed (after a first run), the credentials in
    this clone's git-ignored .dvc/config.local, where DVC also applies them to commits whose config lacks the remote.
    """
    project = _toy_project(tmp_path / "project")
    dvc(project, "remote", "add", "-d", "team", "s3://bucket/hatespeech")
    _write_run(project, '{"f1_macro": 0.625}', 0.002)
    git(project, "add", "-A")
    git(project, "commit", "-qm", "share through the team bucket; second run")
    dvc(project, "remote", "modify", "--local", "team", "access_key_id", "AKIAEXAMPLE")
    return project


@pytest.mark.e2e
def test_a_revision_dvc_cannot_load_fails_with_dvcs_reason(team_remote_after_the_first_run):
    project = team_remote_after_the_first_run
    reason = "expected 'url' for dictionary value @ data['remote']['team']"
    # What compare reads: DVC only warns, exits 0, and leaves the first run's values out of the JSON.
    diff = dvc(project, "metrics", "diff", "HEAD~1", "HEAD", "--json")
    assert reason in diff.stderr and "DVC failed to load some metrics" in diff.stderr
    assert json.loads(diff.stdout)["metrics/test.json"]["f1_macro"] == {"old": None, "new": 0.625}

    result = _compare(project, "HEAD~1", "HEAD")
    assert result.returncode == 2 and result.stdout == ""  # no table of "—"
    assert result.stderr.startswith("error: compare: `dvc metrics diff HEAD~1 HEAD` could not load"), result.stderr
    assert f"failed to load metrics in revision 'HEAD~1', config file error: {reason}" in result.stderr

    # Without the local keys (credentials from the environment instead) DVC loads both runs: the real values.
    (project / ".dvc/config.local").unlink()
    report = _compare(project, "HEAD~1", "HEAD")
    assert report.returncode == 0, report.stderr
    assert "| metrics/test.json: f1_macro | 0.5000 | 0.6250 | +0.1250 |" in report.stdout
    assert "| train.learning_rate | 0.0010 | 0.0020 |" in report.stdout


@pytest.mark.e2e
def test_a_cached_metric_missing_from_the_cache_fails_naming_the_file(tmp_path, monkeypatch):
    """`dvc metrics diff` gives no reason when a revision's metric file is unreadable; compare names it."""
    from hatespeech.workflow.compare import revision_diff

    project = _toy_project(tmp_path / "project")
    (project / "metrics/validation.json").write_text('{"f1_macro": 0.4}')
    dvc(project, "add", "metrics/validation.json")  # cached, like the validation metrics before issue 40
    (project / "dvc.yaml").write_text((project / "dvc.yaml").read_text() + "metrics:\n- metrics/validation.json\n")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "a cached metric")
    run(["git", "clone", "-q", str(project), "clone"], cwd=tmp_path)  # no DVC cache, no remote

    monkeypatch.chdir(tmp_path / "clone")
    with pytest.raises(PipelineError) as failure:
        revision_diff("metrics", "HEAD", None)
    for revision in ("HEAD", "workspace"):
        message = f"failed to load metrics in revision '{revision}', FileNotFoundError: [Errno 2] No storage files"
        assert f"{message} available: 'metrics/validation.json'" in str(failure.value)
