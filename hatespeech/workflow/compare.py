"""Compare metrics and params between two revisions as Markdown, e.g. for a pull-request comment
(`hatespeech-compare`; the experiments of a commit as a table: :mod:`hatespeech.workflow.experiments`).

    hatespeech-compare main            # main against the workspace
    hatespeech-compare main my-branch  # two revisions (branches, tags, commits, experiments)

Where both revisions' predictions can be loaded (the evaluate, baseline and ensemble stages' cached
predictions/*.parquet, from the local cache or the DVC remote), each model's change is also tested: a
paired bootstrap of the test rows (95% interval and p-value of each metric's change) and McNemar's test.

Where DVC cannot load a revision's metrics or params, the comparison fails with DVC's reason (exit status 2):
`dvc metrics diff` itself only warns and leaves that revision's values out, which would read as a table of "—".
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from hatespeech import PipelineError
from hatespeech.cli import fail
from hatespeech.config import load_params
from hatespeech.evaluation.predictions import compare_predictions, read_predictions, select_predictions
from hatespeech.evaluation.stats import INTERVAL_KEY, Bootstrap
from hatespeech.paths import FUNCTIONAL_METRICS
from hatespeech.workflow.dvc import run_dvc
from hatespeech.workflow.experiments import cell_value

# What `dvc metrics diff` and `dvc params diff` (DVC 3.67; "metrics" in both) write on stderr, exit status 0, when
# they cannot load a revision: its DVC config (e.g. `.dvc/config.local` keys for a remote the revision's committed
# config does not define), or one of its metric files (e.g. a DVC-cached one that this clone's cache lacks). The
# JSON then leaves that revision's values out. Revision-level errors come with a WARNING line giving the reason.
LOAD_FAILURE = re.compile(r"DVC failed to load some \w+ for following revisions: '(.*)'\.")
REVISION_WARNING = re.compile(r"^WARNING: (failed to load \w+ in revision '(.*?)', .*)$", re.MULTILINE)


def revision_diff(kind: str, old: str, new: str | None) -> dict[str, dict[str, dict[str, Any]]]:
    """``dvc KIND diff OLD [NEW] --json`` (``metrics`` or ``params``): ``{file: {key: {old, new[, diff]}}}``; a
    :class:`PipelineError` naming each revision DVC could not load and DVC's reason, rather than its values left out."""
    command = (kind, "diff", old, *([new] if new else []))
    result = run_dvc(*command, "--json")
    failure = LOAD_FAILURE.search(result.stderr)
    if failure:
        warnings = {match.group(2): match.group(1) for match in REVISION_WARNING.finditer(result.stderr)}
        reasons = [
            warnings.get(revision) or _file_error(kind, revision) or failure.group(0)
            for revision in failure.group(1).split(", ")
        ]
        raise PipelineError(f"`dvc {' '.join(command)}` could not load every revision: " + "; ".join(reasons))
    return json.loads(result.stdout or "{}")


def _file_error(kind: str, revision: str) -> str | None:
    """Why DVC could not read one of ``revision``'s metrics or params files, which `dvc KIND diff` does not say:
    the error DVC's API raises reading them (it names the file), or ``None`` where the API reads them."""
    import dvc.api

    show = dvc.api.metrics_show if kind == "metrics" else dvc.api.params_show
    try:
        show(rev=None if revision == "workspace" else revision)
    except Exception as exc:  # noqa: BLE001 (dvc raises many kinds: missing cache object, config, parse errors)
        return f"failed to load {kind} in revision {revision!r}, {type(exc).__name__}: {exc}"
    return None


def _change(value: Any) -> str:
    return f"{value:+.4f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "—"


def _rows(diff: dict, columns: tuple[str, ...], prefix_path: bool) -> list[str]:
    """One Markdown row per changed key: its name, then the ``columns`` of its diff entry."""
    cells = {"old": cell_value, "new": cell_value, "diff": _change}
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
    """Markdown tables (changed metrics, the dialect audit's changed rates, changed params) with one row per changed
    key; the intervals' bounds are left out (the paired test below answers what they would be read for)."""
    metrics = {
        path: {k: v for k, v in keys.items() if INTERVAL_KEY not in k.split(".")} for path, keys in metrics.items()
    }
    audit = metrics.pop(AUDIT_FILE, {})
    functional = metrics.pop(FUNCTIONAL_METRICS, {})
    lines = [f"### Metrics: `{old}` → `{new}`", ""]
    lines += _table(["metric", old, new, "change"], _rows(metrics, ("old", "new", "diff"), True), "No metric changed.")
    lines += ["", f"### Dialect bias audit (`{AUDIT_FILE}`: rates by TwitterAAE group, and AAE/white ratios)", ""]
    audit_rows = _rows({"": _audit_rates(audit)}, ("old", "new", "diff"), False)
    lines += _table(["model . group . rate", old, new, "change"], audit_rows, "No audit rate changed.")
    lines += [
        "",
        f"### Functional suite (`{FUNCTIONAL_METRICS}`: accuracy by functionality, disguised tweets flagged)",
        "",
    ]
    functional_rows = _rows({"": _functional_scores(functional)}, ("old", "new", "diff"), False)
    lines += _table(["model . measure", old, new, "change"], functional_rows, "No functional score changed.")
    lines += ["", "### Params", ""]
    lines += _table(["param", old, new], _rows(params, ("old", "new"), False), "No param changed.")
    return "\n".join(lines) + "\n"


AUDIT_FILE = "metrics/audit.json"


def _audit_rates(changes: dict[str, Any]) -> dict[str, Any]:
    """The audit's rates and ratios (``<model>.<group or aae_vs_white>.<measure>``), not its counts or supports."""
    from hatespeech.evaluation.audit import MEASURES

    return {key: value for key, value in changes.items() if len(key.split(".")) == 3 and key.split(".")[2] in MEASURES}


def _functional_scores(changes: dict[str, Any]) -> dict[str, Any]:
    """The functional suite's accuracies (overall, hateful, non-hateful, macro, per functionality and group) and the
    disguised tweets' flag rates, without case counts or the weakest list (it repeats the accuracies)."""
    return {
        key: value
        for key, value in changes.items()
        if key.endswith((".accuracy", ".flag_rate", ".neither_false_flag_rate")) and ".weakest." not in key
    }


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
    parser.add_argument("old", help="baseline revision, e.g. main")
    parser.add_argument("new", nargs="?", help="revision to compare (default: the workspace)")
    args = parser.parse_args(argv)
    try:
        metrics = revision_diff("metrics", args.old, args.new)
        params = revision_diff("params", args.old, args.new)
        significance = significance_report(args.old, args.new, _bootstrap_settings())
    except PipelineError as exc:
        return fail("compare", str(exc))
    sys.stdout.write(markdown_report(metrics, params, args.old, args.new or "workspace"))
    sys.stdout.write("\n" + "\n".join(significance))
    return 0


if __name__ == "__main__":
    sys.exit(main())
