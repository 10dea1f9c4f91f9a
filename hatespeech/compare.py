"""Compare metrics and params between two revisions as Markdown, e.g. for a pull-request comment.

    python -m hatespeech.compare main           # main against the workspace
    python -m hatespeech.compare main my-branch # two revisions (branches, tags, commits, experiments)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any


def dvc_diff(kind: str, old: str, new: str | None) -> dict[str, dict[str, dict[str, Any]]]:
    """``dvc metrics diff`` or ``dvc params diff`` as JSON: ``{file: {key: {old, new[, diff]}}}``."""
    command = [sys.executable, "-m", "dvc", kind, "diff", old, *([new] if new else []), "--json"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:])} failed: {result.stderr.strip()}")
    return json.loads(result.stdout or "{}")


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
    """Two Markdown tables (changed metrics, changed params) with one row per changed key."""
    lines = [f"### Metrics: `{old}` → `{new}`", ""]
    lines += _table(["metric", old, new, "change"], _rows(metrics, ("old", "new", "diff"), True), "No metric changed.")
    lines += ["", "### Params", ""]
    lines += _table(["param", old, new], _rows(params, ("old", "new"), False), "No param changed.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", help="baseline revision, e.g. main")
    parser.add_argument("new", nargs="?", help="revision to compare (default: the workspace)")
    args = parser.parse_args(argv)
    try:
        metrics = dvc_diff("metrics", args.old, args.new)
        params = dvc_diff("params", args.old, args.new)
    except RuntimeError as exc:
        print(f"error: compare: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(markdown_report(metrics, params, args.old, args.new or "workspace"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
