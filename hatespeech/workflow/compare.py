"""Compare metrics and params between two revisions as Markdown, e.g. for a pull-request comment, or list
the experiments as a table that fits a 120-column terminal (`make experiments`).

    python -m hatespeech.workflow.compare main           # main against the workspace
    python -m hatespeech.workflow.compare main my-branch # two revisions (branches, tags, commits, experiments)
    python -m hatespeech.workflow.compare --experiments  # `dvc exp show`, narrowed: params that differ, five metrics
    python -m hatespeech.workflow.compare --experiments --sort-by val_f1_macro  # best validation macro F1 first

Where both revisions' predictions can be loaded (the evaluate, baseline and ensemble stages' cached
predictions/*.parquet, from the local cache or the DVC remote), each model's change is also tested: a
paired bootstrap of the test rows (95% interval and p-value of each metric's change) and McNemar's test.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from hatespeech import PipelineError
from hatespeech.cli import fail
from hatespeech.config import load_params
from hatespeech.evaluation.evaluate import Bootstrap, compare_predictions, read_predictions, select_predictions
from hatespeech.evaluation.stats import INTERVAL_KEY
from hatespeech.paths import TEST_METRICS, VALIDATION_METRICS
from hatespeech.workflow.overrides import flatten


def dvc_json(*args: str) -> Any:
    command = [sys.executable, "-m", "dvc", *args, "--json"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:])} failed: {result.stderr.strip()}")
    return json.loads(result.stdout or "{}")


def dvc_diff(kind: str, old: str, new: str | None) -> dict[str, dict[str, dict[str, Any]]]:
    """``dvc metrics diff`` or ``dvc params diff`` as JSON: ``{file: {key: {old, new[, diff]}}}``."""
    return dvc_json(kind, "diff", old, *([new] if new else []))


# The comparison most runs need: validation macro F1 (what a sweep picks by) and the transformer's test
# metrics (argmax), hate speech being the hard class.
EXPERIMENT_METRICS = (
    ("val_f1_macro", VALIDATION_METRICS, "f1_macro"),
    ("accuracy", TEST_METRICS, "accuracy"),
    ("f1_weighted", TEST_METRICS, "f1_weighted"),
    ("f1_macro", TEST_METRICS, "f1_macro"),
    ("f1_hate", TEST_METRICS, "per_class.hate_speech.f1"),
)
SORTABLE = tuple(label for label, _, _ in EXPERIMENT_METRICS)


def _file_data(data: dict, kind: str, path: str) -> dict[str, Any] | None:
    found = (data.get(kind) or {}).get(path) or {}
    return flatten(found["data"]) if found.get("data") else None


def _metrics(data: dict) -> dict[str, Any]:
    """The table's metrics of one row, by label; a file DVC could not read leaves its labels out."""
    paths = dict.fromkeys(path for _, path, _ in EXPERIMENT_METRICS)  # each file flattened once
    files = {path: _file_data(data, "metrics", path) or {} for path in paths}
    return {label: files[path][key] for label, path, key in EXPERIMENT_METRICS if key in files[path]}


def experiment_rows(shown: list[dict]) -> list[tuple[str, dict[str, Any] | None, dict[str, Any]]]:
    """(name, flat params, metrics by label) per commit of ``dvc exp show --json`` and per experiment under it."""
    rows = []
    for commit in shown:
        name = commit.get("name") or (commit["rev"] if commit["rev"] == "workspace" else commit["rev"][:7])
        rows.append((name, commit.get("data") or {}))
        for experiment in commit.get("experiments") or []:
            run = experiment["revs"][0]
            rows.append((f"└─ {experiment.get('name') or run['rev'][:7]}", run.get("data") or {}))
    return [(name, _file_data(data, "params", "params.yaml"), _metrics(data)) for name, data in rows]


def experiments_table(shown: list[dict], width: int = 120, sort_by: str | None = None) -> str:
    """A fixed-width table: experiment, the params whose values differ between rows, five metrics; with
    ``sort_by`` (a metric label) the rows are ordered best first, rows without that metric last."""
    rows = experiment_rows(shown)
    if sort_by is not None:
        if sort_by not in SORTABLE:
            raise PipelineError(f"cannot sort by '{sort_by}': choose one of {', '.join(SORTABLE)}")
        rows.sort(key=lambda row: -row[2][sort_by] if sort_by in row[2] else float("inf"))
    keys = sorted({key for _, params, _ in rows if params for key in params})
    changed = [key for key in keys if len({json.dumps((p or {}).get(key)) for _, p, _ in rows if p is not None}) > 1]
    name_width = max([10, *(len(name) for name, _, _ in rows)])
    metric_width = max(len(label) for label in SORTABLE) + 1
    params_width = max(20, width - name_width - len(SORTABLE) * (metric_width + 1) - 2)

    def fit(text: str) -> str:
        return text if len(text) <= params_width else text[: params_width - 1] + "…"

    header = f"{'experiment':<{name_width}}  {'changed params':<{params_width}}" + "".join(
        f" {label:>{metric_width}}" for label in SORTABLE
    )
    lines = [header, "-" * len(header)]
    for name, params, metrics in rows:
        settings = ", ".join(f"{key}={params.get(key)}" for key in changed) if params else "(no params)"
        cells = "".join(f" {_value(metrics[label]) if label in metrics else '!':>{metric_width}}" for label in SORTABLE)
        lines.append(f"{name:<{name_width}}  {fit(settings):<{params_width}}{cells}")
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) >= 1e-3 else f"{value:.3g}"
    return f"`{value}`" if isinstance(value, str) else str(value)


def _change(value: Any) -> str:
    return f"{value:+.4f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "—"


def _rows(diff: dict, columns: tuple[str, ...], prefix_path: bool) -> list[str]:
    """One Markdown row per changed key: its name, then the ``columns`` of its diff entry."""
    cells = {"old": _value, "new": _value, "diff": _change}
    return [
        "| " + " | ".join([f"{path}: {key}" if prefix_path else key, *(cells[c](v.get(c)) for c in columns)]) + " |"
        for path, keys in sorted(diff.items())
        for key, v in sorted(keys.items())
    ]


def _table(header: list[str], rows: list[str], nothing: str) -> list[str]:
    if not rows:
        return [nothing]
    return ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1), *rows]


def markdown_report(metrics: dict, params: dict, old: str, new: str) -> str:
    """Two Markdown tables (changed metrics, changed params) with one row per changed key; the intervals'
    bounds are left out (the paired test below answers what they would be read for)."""
    metrics = {
        path: {k: v for k, v in keys.items() if INTERVAL_KEY not in k.split(".")} for path, keys in metrics.items()
    }
    lines = [f"### Metrics: `{old}` → `{new}`", ""]
    lines += _table(["metric", old, new, "change"], _rows(metrics, ("old", "new", "diff"), True), "No metric changed.")
    lines += ["", "### Params", ""]
    lines += _table(["param", old, new], _rows(params, ("old", "new"), False), "No param changed.")
    return "\n".join(lines) + "\n"


# Each model's per-row predictions, as the evaluate, baseline and ensemble stages write them (dvc.yaml's outs).
PREDICTION_FILES = {
    "transformer": "predictions/transformer.parquet",
    "baseline": "predictions/baseline.parquet",
    "ensemble": "predictions/ensemble.parquet",
}
SIGNIFICANCE_METRICS = ("accuracy", "f1_weighted", "f1_macro", "f1_hate_speech")
SIGNIFICANCE_LEVEL = 0.05


def load_predictions(path: str, rev: str | None) -> pd.DataFrame:
    """A predictions file at a git revision or DVC experiment (``None``: the workspace) through DVC's API."""
    if rev is None:
        return read_predictions(path)
    import dvc.api

    try:
        with dvc.api.open(path, rev=rev, mode="rb") as handle:
            data = handle.read()
    except Exception as exc:  # noqa: BLE001 (dvc raises many kinds: missing rev, path, cache object)
        raise PipelineError(f"{path} at {rev}: {type(exc).__name__}: {exc}") from exc
    try:
        table = pd.read_parquet(io.BytesIO(data))
    except (OSError, ValueError) as exc:
        raise PipelineError(f"{path} at {rev} is not a readable parquet file: {exc}") from exc
    return select_predictions(table, f"{path} at {rev}")


def significance_report(old: str, new: str | None, bootstrap: Bootstrap) -> list[str]:
    """Markdown: per model, whether each headline metric's change from ``old`` to ``new`` is significant."""
    lines = [f"### Is the change real? (paired bootstrap, {bootstrap.config.resamples} resamples; McNemar)", ""]
    for model, path in PREDICTION_FILES.items():
        try:
            comparison = compare_predictions(
                load_predictions(path, old), load_predictions(path, new), bootstrap, ("old", "new")
            )
        except PipelineError as exc:
            lines += [f"{model}: no paired test ({exc}).", ""]
            continue
        argmax = comparison["argmax"]
        lines += [
            f"**{model}** ({comparison['examples']} test tweets)",
            "",
            "| metric | old | new | change | 95% interval | p | significant at 5%? |",
            "|---|---:|---:|---:|---|---:|---|",
        ]
        for metric in SIGNIFICANCE_METRICS:
            entry = argmax[metric]
            real = "yes" if entry["p_value"] < SIGNIFICANCE_LEVEL and entry["difference"] != 0 else "no"
            lines.append(
                f"| {metric} | {entry['old']:.4f} | {entry['new']:.4f} | {entry['difference']:+.4f} | "
                f"{entry['low']:+.4f} to {entry['high']:+.4f} | {entry['p_value']:.3g} | {real} |"
            )
        test = argmax["mcnemar"]
        lines += [
            "",
            f"McNemar: {test['new_only_correct']} tweets only `new` gets right, {test['old_only_correct']} only "
            f"`old`; p = {test['p_value']:.3g}.",
            "",
        ]
    return lines


def _bootstrap_settings() -> Bootstrap:
    return Bootstrap.from_params(load_params() if Path("params.yaml").is_file() else {})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", nargs="?", help="baseline revision, e.g. main")
    parser.add_argument("new", nargs="?", help="revision to compare (default: the workspace)")
    parser.add_argument("--experiments", action="store_true", help="list the experiments of HEAD as a table instead")
    parser.add_argument("-A", "--all-commits", action="store_true", help="with --experiments: of every commit")
    parser.add_argument("--sort-by", choices=SORTABLE, help="with --experiments: best first by this metric")
    args = parser.parse_args(argv)
    if args.experiments == bool(args.old):
        parser.error("give a revision to compare, or --experiments")
    try:
        if args.experiments:
            shown = dvc_json("exp", "show", *(["-A"] if args.all_commits else []))
            sys.stdout.write(experiments_table(shown, sort_by=args.sort_by))
            return 0
        metrics = dvc_diff("metrics", args.old, args.new)
        params = dvc_diff("params", args.old, args.new)
        significance = significance_report(args.old, args.new, _bootstrap_settings())
    except (RuntimeError, PipelineError) as exc:
        return fail("compare", str(exc))
    sys.stdout.write(markdown_report(metrics, params, args.old, args.new or "workspace"))
    sys.stdout.write("\n" + "\n".join(significance))
    return 0


if __name__ == "__main__":
    sys.exit(main())
