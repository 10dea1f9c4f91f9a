"""Files every stage reads and writes: atomic output, JSON, parquet tables, content digests."""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from hatespeech import PipelineError


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextlib.contextmanager
def atomic_output(target: str | os.PathLike[str], *, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; move it into place only if the block succeeds.

    A failed or interrupted stage therefore never leaves a half-written output behind,
    and an existing output is replaced only by a complete new one.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Leftovers of a killed run (SIGKILL skips the cleanup below); DVC runs one stage at a time.
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    staged = tmp if directory else tmp / target.name
    try:
        yield staged
        if not staged.exists():
            raise RuntimeError(f"nothing was written to {staged} for {target}")
        _remove(target)
        os.replace(staged, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def file_in(path: str | os.PathLike[str], name: str) -> Path:
    """``path/name`` if ``path`` is a directory (a model directory holding the file ``name``), else ``path``."""
    path = Path(path)
    return path / name if path.is_dir() else path


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` as indented JSON, atomically, with a trailing newline."""
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_json(path: str | os.PathLike[str], what: str, *, missing_ok: bool = False) -> Any:
    """A JSON file's content; a missing (unless ``missing_ok``: None) or broken file is a :class:`PipelineError`
    naming ``what`` it is."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if missing_ok:
            return None
        raise PipelineError(f"{path} not found: {what}") from None
    except (OSError, ValueError) as exc:
        raise PipelineError(f"{path} is not readable JSON ({what}): {exc}") from exc


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a parquet file written by an earlier stage; a missing or unreadable one is a :class:`PipelineError`."""
    if not Path(path).is_file():
        raise PipelineError(f"{path} not found: run the stage that writes it first")
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise PipelineError(f"{path} is not a readable parquet file: {exc}") from exc


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a parquet file (called on a temporary path; see :func:`atomic_output`)."""
    frame.reset_index(drop=True).to_parquet(path, index=False)


def sha256_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_tree(path: str | os.PathLike[str]) -> str:
    """One digest for a file or a directory: its files' relative paths and contents, in sorted order."""
    root = Path(path)
    if root.is_file():
        return sha256_file(root)
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(root).as_posix()}\0{sha256_file(file)}\n".encode())
    return digest.hexdigest()
