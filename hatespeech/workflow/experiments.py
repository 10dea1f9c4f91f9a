"""The experiments of a commit (or of every commit) as a table that fits a 120-column terminal:
`dvc exp show`, narrowed to the params that differ between rows and six metrics (`make experiments`).

    python -m hatespeech.workflow.experiments                          # HEAD's experiments
    python -m hatespeech.workflow.experiments --sort-by val_f1_macro   # best validation macro F1 first
    python -m hatespeech.workflow.experiments -A                       # every commit's
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from hatespeech import PipelineError
from hatespeech.cli import run_cli
from hatespeech.paths import FUNCTIONAL_METRICS, TEST_METRICS, VALIDATION_METRICS
from hatespeech.workflow.dvc import dvc_json
from hatespeech.workflow.overrides import flatten

# The comparison most runs need: validation macro F1 (what a sweep picks by), the transformer's test metrics
# (argmax), hate speech being the hard class, and its behaviour on what users send: the functional suite's accuracy
# over every case and the lowest share of disguised toxic test tweets still flagged (over the disguise kinds).
EXPERIMENT_METRICS = (
    ("val_f1_macro", VALIDATION_METRICS, "f1_macro"),
    ("accuracy", TEST_METRICS, "accuracy"),
    ("f1_macro", TEST_METRICS, "f1_macro"),
    ("f1_hate", TEST_METRICS, "per_class.hate_speech.f1"),
    ("suite", FUNCTIONAL_METRICS, "transformer.overall.accuracy"),
    ("disguised", FUNCTIONAL_METRICS, "transformer.disguised_tweets.lowest_flag_rate"),
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
    """A fixed-width table: experiment, the params whose values differ between rows, six metrics; with
    ``sort_by`` (a metric label) the rows are ordered best first, rows without that metric last."""
    rows = experiment_rows(shown)
    if sort_by is not None:
        if sort_by not in SORTABLE:
            raise PipelineError(f"cannot sort by '{sort_by}': choose one of {', '.join(SORTABLE)}")
        rows.sort(key=lambda row: -row[2][sort_by] if sort_by in row[2] else float("inf"))
    keys = sorted({key for _, params, _ in rows if params for key in params})
    changed = [key for key in keys if len({json.dumps((p or {}).get(key)) for _, p, _ in rows if p is not None}) > 1]
    name_width = max([10, *(len(name) for name, _, _ in rows)])
    widths = {label: max(len(label), 6) for label in SORTABLE}  # a value is 6 characters: 0.7729
    params_width = max(20, width - name_width - sum(w + 1 for w in widths.values()) - 2)

    def fit(text: str) -> str:
        return text if len(text) <= params_width else text[: params_width - 1] + "…"

    header = f"{'experiment':<{name_width}}  {'changed params':<{params_width}}" + "".join(
        f" {label:>{widths[label]}}" for label in SORTABLE
    )
    lines = [header, "-" * len(header)]
    for name, params, metrics in rows:
        settings = ", ".join(f"{key}={params.get(key)}" for key in changed) if params else "(no params)"
        cells = "".join(
            f" {cell_value(metrics[label]) if label in metrics else '!':>{widths[label]}}" for label in SORTABLE
        )
        lines.append(f"{name:<{name_width}}  {fit(settings):<{params_width}}{cells}")
    return "\n".join(line.rstrip() for line in lines) + "\n"


def cell_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) >= 1e-3 else f"{value:.3g}"
    return f"`{value}`" if isinstance(value, str) else str(value)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-A", "--all-commits", action="store_true", help="the experiments of every commit")
    parser.add_argument("--sort-by", choices=SORTABLE, help="best first by this metric")
    args = parser.parse_args(argv)
    shown = dvc_json("exp", "show", *(["-A"] if args.all_commits else []))
    sys.stdout.write(experiments_table(shown, sort_by=args.sort_by))


if __name__ == "__main__":
    run_cli("experiments", main)
