"""The inputs of ``hatespeech-score``: which files (local, globs, folders, ``s3://``), in which format, and each
file (a **shard**) read into its texts and its unreadable rows (malformed CSV or JSON, no text, not UTF-8), so a
bad row is reported and the job goes on."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import pandas as pd

from hatespeech import PipelineError

log = logging.getLogger("hatespeech.score")

FORMATS = ("csv", "jsonl", "parquet", "lines")
EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".txt": "lines"}
GZIP = ".gz"  # csv, jsonl and txt files may be gzip-compressed (the shipped data copy is a .csv.gz)


def file_kind(path: str) -> str | None:
    """The input format from a file's extension (``.csv.gz`` is csv), or None for an unknown one."""
    name = PurePosixPath(path).name.lower()
    if name.endswith(GZIP):
        name = name[: -len(GZIP)]
    kind = EXTENSIONS.get(PurePosixPath(name).suffix)
    return None if kind == "parquet" and path.lower().endswith(GZIP) else kind


# --- Where the files are: local paths or s3:// (fsspec), with the DVC remote's S3 settings ---------------------


def s3_options(remote: str | None) -> dict[str, Any]:
    """fsspec/s3fs options from a DVC remote of the repository around the working directory (its
    ``endpointurl``, ``profile``, ``credentialpath`` and ``configpath``, from .dvc/config and config.local): the
    same S3 settings `dvc push` uses. ``remote`` None: the default remote if it is an S3 one, else no options
    (then the AWS environment decides, as for any boto client)."""
    try:
        from dvc.config import Config

        config = Config.from_cwd()
        remotes = config.get("remote", {})
        name = remote or config.get("core", {}).get("remote")
    except Exception as exc:  # noqa: BLE001  (no DVC repository here, or an unreadable config)
        if remote:
            raise PipelineError(f"cannot read DVC remote '{remote}': {exc}") from exc
        return {}
    if not name:
        return {}
    if name not in remotes:
        raise PipelineError(f"no DVC remote named '{name}' (remotes: {', '.join(sorted(remotes)) or 'none'})")
    settings = remotes[name]
    if not str(settings.get("url", "")).startswith("s3://"):
        if remote:
            raise PipelineError(f"DVC remote '{name}' is not an S3 remote ({settings.get('url')})")
        return {}
    # botocore reads the credential and config files from the environment, as DVC makes it do.
    for key, variable in (("credentialpath", "AWS_SHARED_CREDENTIALS_FILE"), ("configpath", "AWS_CONFIG_FILE")):
        if settings.get(key):
            os.environ[variable] = str(settings[key])
    options: dict[str, Any] = {}
    if settings.get("endpointurl"):
        options["endpoint_url"] = settings["endpointurl"]
    if settings.get("profile"):
        options["profile"] = settings["profile"]
    return options


def filesystem(path: str, options: dict[str, Any]) -> tuple[Any, str]:
    """The fsspec filesystem of ``path`` and the path within it (``options`` apply to s3:// only)."""
    import fsspec

    try:
        return fsspec.core.url_to_fs(path, **(options if path.startswith("s3://") else {}))
    except (ImportError, ValueError) as exc:
        raise PipelineError(f"cannot open {path}: {exc}") from exc


def _display(fs: Any, path: str) -> str:
    """A listed path as the user names it: plain when local, with its protocol (``s3://``) otherwise."""
    return path if "file" in fs.protocol else fs.unstrip_protocol(path)


def input_files(inputs: Sequence[str], options: dict[str, Any]) -> list[str]:
    """Every input file, as a full path or URL, sorted and without repeats: a file as given, a folder's files
    with a known extension (recursively), a glob's matches. Nothing to score is a clear error."""
    found: list[str] = []
    for spec in inputs:
        fs, path = filesystem(spec, options)
        try:
            if any(char in spec for char in "*?["):
                matches = sorted(fs.glob(path))
            elif fs.isdir(path):
                matches = sorted(p for p in fs.find(path) if file_kind(p))
            elif fs.isfile(path):
                matches = [path]
            else:
                raise PipelineError(f"{spec}: no such file or folder")
        except PermissionError as exc:
            raise PipelineError(f"{spec}: access denied ({exc})") from exc
        except OSError as exc:
            raise PipelineError(f"{spec}: cannot list it ({exc})") from exc
        files = [_display(fs, p) for p in matches if fs.isfile(p)]
        if not files:
            raise PipelineError(
                f"{spec}: no input files (known: .csv .jsonl .ndjson .txt, each also .gz, and .parquet)"
            )
        found += files
    return sorted(dict.fromkeys(found))


def check_columns(
    sources: Sequence[str], options: dict[str, Any], fmt: str | None, column: str, id_column: str | None
) -> None:
    """Before the job starts Ray: every input's format is known, and every CSV header and parquet schema holds
    ``column`` (and ``id_column``), so a stray file or a wrong ``--column`` stops in seconds with one line. A file
    whose header cannot be read here is left to :func:`read_shard`, which reports it as precisely."""
    for source in sources:
        kind = fmt or file_kind(source)
        if kind is None:
            raise PipelineError(f"{source}: unknown format; pass --format ({', '.join(FORMATS)})")
        names = _columns(source, kind, options) if kind in ("csv", "parquet") else None
        if names:  # JSON lines and text: a field per row, reported per row; an unreadable header: read_shard's
            require_columns(source, names, column, id_column)


def require_columns(source: str, names: Sequence[str], column: str, id_column: str | None) -> None:
    """A :class:`PipelineError` naming ``source`` and its columns unless ``names`` holds ``column`` (and
    ``id_column``): the one message for a missing column, before the job and while reading a shard."""
    for name in filter(None, (column, id_column)):
        if name not in names:
            raise PipelineError(f"{source}: no column '{name}' (columns: {', '.join(names)}); see --column")


def _columns(source: str, kind: str, options: dict[str, Any]) -> list[str] | None:
    """A CSV file's header or a parquet file's column names, read without the rest of the file; None if unreadable."""
    fs, path = filesystem(source, options)
    try:
        with fs.open(path, "rb") as handle:
            if kind == "parquet":
                import pyarrow.parquet as pq

                return [str(name) for name in pq.read_schema(handle).names]
            first = (gzip.open(handle) if source.lower().endswith(GZIP) else handle).readline()
        return next(csv.reader([first.decode("utf-8")]), None) or None
    except (OSError, EOFError, ValueError, csv.Error):  # ValueError: pyarrow's ArrowInvalid, UnicodeDecodeError
        return None


def shard_name(source: str) -> str:
    """The output name of an input file: its name made filesystem-safe, plus a digest of the full path (two
    inputs named alike in different folders get different outputs; the same input always the same one)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", PurePosixPath(source).name)[:80]
    return f"{stem}-{hashlib.sha1(source.encode('utf-8')).hexdigest()[:10]}"


# --- Reading one shard: rows, and the rows that cannot be scored ------------------------------------------------


@dataclass
class Shard:
    """One input file's rows to score (row number, id, text) and the rows that could not be read."""

    source: str
    rows: list[int] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, row: int, identifier: Any, text: Any) -> None:
        if not isinstance(text, str):
            self.error(row, "no text" if text is None else f"the text is a {type(text).__name__}, not a string")
        elif not text.strip():
            self.error(row, "empty text")
        else:
            self.rows.append(row)
            self.ids.append(str(row if identifier is None else identifier))
            self.texts.append(text)

    def error(self, row: int, reason: str) -> None:
        self.errors.append({"source": self.source, "row": row, "reason": reason})


def _lines(raw: bytes) -> Iterator[tuple[int, str | None]]:
    """(line number from 0, text) per line; a line that is not UTF-8 is (number, None)."""
    for number, line in enumerate(raw.splitlines()):
        try:
            yield number, line.decode("utf-8")
        except UnicodeDecodeError:
            yield number, None


def read_shard(raw: bytes, source: str, kind: str, column: str, id_column: str | None) -> Shard:
    """Parse one input file's bytes. Rows are numbered from 0 in the file's order (CSV: data rows after the
    header; JSON lines and text: non-blank lines). A file that cannot be read at all is a PipelineError."""
    shard = Shard(source)
    if kind == "parquet":
        try:
            table = pd.read_parquet(io.BytesIO(raw))
        except (OSError, ValueError) as exc:
            raise PipelineError(f"{source} is not a readable parquet file: {exc}") from exc
        require_columns(source, [str(name) for name in table.columns], column, id_column)
        ids = table[id_column].tolist() if id_column else [None] * len(table)
        for row, (identifier, text) in enumerate(zip(ids, table[column].tolist())):
            shard.add(row, identifier, text)
        return shard
    if kind == "csv":
        return _read_csv(raw, shard, column, id_column)
    row = 0
    for number, line in _lines(raw):
        if line is None:
            shard.error(row, f"line {number + 1} is not valid UTF-8")
            row += 1
            continue
        if not line.strip():
            continue
        if kind == "lines":
            shard.add(row, None, line.rstrip("\r"))
        else:
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                shard.error(row, f"line {number + 1} is not valid JSON")
            else:
                if not isinstance(record, dict):
                    shard.error(row, f"line {number + 1} is not a JSON object")
                else:
                    shard.add(row, record.get(id_column) if id_column else None, record.get(column))
        row += 1
    return shard


def _read_csv(raw: bytes, shard: Shard, column: str, id_column: str | None) -> Shard:
    try:
        header_end = raw.index(b"\n") + 1 if b"\n" in raw else len(raw)
        header = next(csv.reader([raw[:header_end].decode("utf-8")]), None)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise PipelineError(f"{shard.source}: the header line is not readable UTF-8 CSV ({exc})") from None
    if not header:
        return shard
    require_columns(shard.source, header, column, id_column)
    text_at, id_at = header.index(column), header.index(id_column) if id_column else None
    # Decoded line by line, so that one line that is not UTF-8 is one bad row.
    body = raw[header_end:].decode("utf-8", errors="surrogateescape")
    reader = csv.reader(io.StringIO(body, newline=""))
    row = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # a NUL byte, an unclosed quote past the field limit: this row only
            shard.error(row, f"not readable CSV: {exc}")
            row += 1
            continue
        if not record:
            continue
        text = record[text_at] if text_at < len(record) else None
        if isinstance(text, str):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                shard.error(row, "not valid UTF-8")
                row += 1
                continue
        identifier = record[id_at] if id_at is not None and id_at < len(record) else None
        shard.add(row, identifier, text)
        row += 1
    return shard
