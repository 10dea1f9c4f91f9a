"""DVC as a subprocess: the one way the package runs `dvc` (this interpreter's DVC, so the venv's).

DVC's Python API covers reading files at a revision (``dvc.api.open``, used by ``compare``); commands such as
``exp show``, ``metrics diff`` or ``queue start`` have no stable API, so they run as the user would run them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hatespeech import PipelineError


def run_dvc(
    *args: str,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float | None = None,
) -> subprocess.CompletedProcess:
    """``dvc ARGS`` in ``cwd``, output captured; with ``check`` a non-zero exit is a :class:`PipelineError`."""
    result = subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=cwd,
        env=dict(env) if env is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise PipelineError(f"dvc {' '.join(args[:3])} failed: {(result.stderr or result.stdout).strip()}")
    return result


def dvc_json(*args: str, cwd: str | Path | None = None) -> Any:
    """``dvc ARGS --json``, parsed."""
    return json.loads(run_dvc(*args, "--json", cwd=cwd).stdout or "{}")


def dvc_diff(kind: str, old: str, new: str | None) -> dict[str, dict[str, dict[str, Any]]]:
    """``dvc metrics diff`` or ``dvc params diff`` as JSON: ``{file: {key: {old, new[, diff]}}}``."""
    return dvc_json(kind, "diff", old, *([new] if new else []))
