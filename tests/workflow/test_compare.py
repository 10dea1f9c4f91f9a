"""The Markdown comparison of two revisions (the dvc side is covered in test_team_workflow.py)."""

import pytest

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
