"""What every benchmark report shares: the machine's name and plain-text tables."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def write_report(path: Path, report: dict[str, Any], rendered: str) -> None:
    """Save ``report`` as JSON at ``path`` and print its tables (``rendered``) and where it went."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(rendered)
    print(f"\nreport: {path}")


def cell(value: Any) -> str:
    if isinstance(value, float):  # rates and seconds to 2 decimals; F1 scores, shares and gaps (below 1) to 4
        return f"{value:,.2f}" if abs(value) >= 1 or value == 0 else f"{value:.4f}"
    return "" if value is None else str(value)


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """Columns padded to their widest cell: the first left-aligned, the others right-aligned."""
    cells = [headers] + [[cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))) for row in cells
    ]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])
