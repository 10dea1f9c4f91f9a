"""The Markdown comparison of two revisions (the dvc side is covered in test_team_workflow.py)."""

from hatespeech.compare import markdown_report


def test_changed_metrics_and_params_become_table_rows():
    report = markdown_report(
        {"metrics/test.json": {"f1_macro": {"old": 0.5, "new": 0.625, "diff": 0.125}, "examples": {"old": None, "new": 26}}},
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
    assert "No metric changed." in report and "No param changed." in report
