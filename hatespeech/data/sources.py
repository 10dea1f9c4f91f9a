"""Load the Davidson et al. (2017) data from the Hub or the authors' CSV, into one validated schema."""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import logging
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hatespeech import LABEL, LABELS, TEXT, VOTE_COLUMNS, PipelineError
from hatespeech.config import PARAMS_YAML, Section

log = logging.getLogger(__name__)

# The normalized schema every later stage reads.
COUNT_COLUMNS = ("count", *VOTE_COLUMNS)
SCHEMA = (TEXT, LABEL, *COUNT_COLUMNS)

# Column names in the authors' labeled_data.csv and in the Hub dataset, mapped onto the schema.
CSV_COLUMNS = {
    "tweet": TEXT,
    "class": LABEL,
    "count": "count",
    "hate_speech": "hate_speech_count",
    "offensive_language": "offensive_language_count",
    "neither": "neither_count",
}
HUB_COLUMNS = {
    "tweet": TEXT,
    "class": LABEL,
    "count": "count",
    "hate_speech_count": "hate_speech_count",
    "offensive_language_count": "offensive_language_count",
    "neither_count": "neither_count",
}

# The copy of the data shipped in the repository: params.yaml's default download.source.
SHIPPED_DATA = "data/hate_speech_offensive/labeled_data.csv.gz"

OFFLINE_HINT = (
    f"Plain `make run` (or `dvc repro`) uses the copy shipped in {SHIPPED_DATA}; "
    "for another local copy of the authors' CSV, `dvc exp run -S download.source=path/to/labeled_data.csv`."
)
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class DownloadConfig(Section):
    """params.yaml's ``download`` section."""

    SECTION = "download"
    source: str = PARAMS_YAML
    revision: str | None = PARAMS_YAML
    max_rows: int | None = PARAMS_YAML

    def validate(self) -> None:
        if self.max_rows is not None and self.max_rows < 1:
            raise PipelineError(f"download.max_rows must be at least 1 (or null: every row), got {self.max_rows}")


class DataError(PipelineError):
    """The input data is missing, unreadable or does not match the expected format."""


@dataclass(frozen=True)
class LoadedData:
    frame: pd.DataFrame
    source: str
    kind: str  # "csv" or "hub"
    source_sha256: str | None = None  # of the raw bytes, for file and URL sources


def vote_shares(table: Any) -> np.ndarray:
    """Each row's annotator vote shares per class (LABELS order), from the vote count columns of ``table`` (a
    DataFrame or a ``datasets.Dataset``); the one-hot label where no votes are recorded (generated rows)."""
    columns = table.column_names if hasattr(table, "column_names") else table.columns
    missing = [c for c in VOTE_COLUMNS if c not in columns]
    if missing:
        raise PipelineError(f"{', '.join(missing)} missing")
    votes = np.stack([np.asarray(table[c], dtype=np.float64) for c in VOTE_COLUMNS], axis=1)
    totals = votes.sum(axis=1, keepdims=True)
    hard = np.eye(len(LABELS))[np.asarray(table[LABEL])]
    return np.where(totals > 0, votes / np.maximum(totals, 1), hard)


def is_file_source(source: str) -> bool:
    """A source is a CSV file (local path or URL) rather than a Hub dataset id."""
    return (
        source.startswith(("http://", "https://", "file://", "/", "./", "../", "~"))
        or source.lower().endswith((".csv", ".csv.gz"))
        or os.path.exists(source)
    )


def _read_bytes(source: str, timeout: float = 60.0) -> bytes:
    if source.startswith(("http://", "https://", "file://")):
        try:
            with urllib.request.urlopen(source, timeout=timeout) as response:  # noqa: S310 (user-chosen URL)
                return response.read()
        except (urllib.error.URLError, OSError) as exc:
            raise DataError(f"could not download {source}: {exc}") from exc
    path = Path(source).expanduser()
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    return path.read_bytes()


def decompress(raw: bytes, source: str) -> bytes:
    """The bytes of a gzip-compressed file uncompressed (recognized by its magic number); others as they are."""
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{source} is not a readable gzip file: {exc}") from exc


def _line_of(raw: bytes, offset: int) -> int:
    return raw[:offset].count(b"\n") + 1


def decode_utf8(raw: bytes, source: str) -> str:
    """The text of a UTF-8 file, with or without a byte-order mark; anything else is a :class:`DataError`.

    Other encodings are not guessed: a Latin-1 or Windows-1252 file would decode "successfully" into
    different text, so it is safer to ask for the file to be saved as UTF-8.
    """
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise DataError(f"{source} is UTF-16 or UTF-32 encoded (it starts with that byte-order mark): save it as UTF-8")
    nul = raw.find(b"\0")
    if nul >= 0:  # never in text: a binary file, or UTF-16 without a byte-order mark
        raise DataError(
            f"{source} contains a NUL byte at offset {nul} (line {_line_of(raw, nul)}): "
            "it is not a UTF-8 text file (UTF-16?); save it as UTF-8"
        )
    bom = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        return raw[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = bom + exc.start  # of the whole file, BOM included, as a hex editor shows it
        raise DataError(
            f"{source} is not valid UTF-8: byte 0x{raw[offset]:02x} at offset {offset} (line {_line_of(raw, offset)}); "
            "save it as UTF-8 (other encodings such as Latin-1 are not guessed)"
        ) from exc


def read_csv_records(text: str, source: str) -> pd.DataFrame:
    """Parse CSV text into a frame of strings, one column per header field; blank lines are skipped.

    Python's csv module in strict mode rather than pandas: pandas silently takes the first column as
    the index when the first row has one field too many, and joins a closing quote with whatever
    follows it. Here a malformed quote, or a row whose field count differs from the header's, is an error.
    """
    if not text.strip():
        raise DataError(f"{source} is empty: expected a CSV with columns {', '.join(CSV_COLUMNS)}")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)  # newline="": quoted line breaks stay as written
    try:
        records = [record for record in reader if record]
    except csv.Error as exc:
        raise DataError(
            f"{source} is not a readable CSV: {exc} at line {reader.line_num} (a quote not closed, or not doubled?)"
        ) from exc
    header, rows = [name.strip() for name in records[0]], records[1:]
    _check_header(header, CSV_COLUMNS, source)  # a wrong header explains ragged rows better than their numbers
    ragged = pd.Series([len(row) != len(header) for row in rows], dtype=bool)
    if ragged.any():
        raise DataError(
            f"{source}: row(s) {_bad_rows(ragged)} do not have the header's {len(header)} fields "
            "(a tweet with an unquoted comma, quote or line break?)"
        )
    return pd.DataFrame(rows, columns=header, dtype=object)


def parse_authors_csv(raw: bytes, source: str) -> pd.DataFrame:
    """Parse the bytes of a CSV in the authors' format into the normalized schema."""
    return normalize(read_csv_records(decode_utf8(raw, source), source), CSV_COLUMNS, source)


def load_csv(source: str) -> LoadedData:
    """The authors' CSV from a path or URL, plain or gzip-compressed; ``source_sha256`` is of the CSV itself."""
    raw = decompress(_read_bytes(source), source)
    frame = parse_authors_csv(raw, source)
    return LoadedData(frame, source, "csv", hashlib.sha256(raw).hexdigest())


def check_hub_reachable(timeout: float = 5.0) -> None:
    """Raise :class:`DataError` at once when the Hub's host cannot be reached.

    Without this, the Hub client retries with back-off for half a minute before giving up. With
    HF_HUB_OFFLINE=1 nothing is probed: `datasets` may then serve a copy from its local cache.
    """
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return
    endpoint = urllib.parse.urlparse(constants.ENDPOINT)
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        socket.create_connection((endpoint.hostname, port), timeout=timeout).close()
    except OSError as exc:
        raise DataError(f"the Hugging Face Hub ({constants.ENDPOINT}) is unreachable: {exc}. {OFFLINE_HINT}") from exc


def load_hub(dataset_id: str, revision: str | None = None) -> LoadedData:
    """Load the single ``train`` split of a Hugging Face dataset, failing fast when the Hub is unreachable."""
    import datasets

    check_hub_reachable()
    try:
        dataset = datasets.load_dataset(dataset_id, revision=revision, split="train")
    except Exception as exc:  # the datasets library raises many unrelated types for "not reachable"
        raise DataError(
            f"could not load the dataset '{dataset_id}' from the Hugging Face Hub "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no details'}). {OFFLINE_HINT}"
        ) from exc
    frame = dataset.to_pandas()
    return LoadedData(normalize(frame, HUB_COLUMNS, dataset_id), dataset_id, "hub")


def load_source(source: str, revision: str | None = None) -> LoadedData:
    if not source:
        raise DataError("download.source is empty: give a Hub dataset id or a path/URL of labeled_data.csv")
    return load_csv(source) if is_file_source(source) else load_hub(source, revision)


def _bad_rows(mask: pd.Series, limit: int = 5) -> str:
    # Report 1-based data row numbers (the header is not counted), as a spreadsheet user would see them.
    rows = [str(i + 1) for i in np.flatnonzero(mask.to_numpy())[:limit]]
    more = int(mask.sum()) - len(rows)
    return ", ".join(rows) + (f" and {more} more" if more > 0 else "")


def _found(values: pd.Series, limit: int = 3) -> str:
    # repr() keeps an empty value or a line break in a value visible, and the message on one line.
    return repr(list(dict.fromkeys(map(str, values)))[:limit])


# Beyond 2**53 floats are no longer exact, and "1e30" would wrap around when cast to int64.
_LARGEST_WHOLE = 2**53


def _integers(values: pd.Series, source: str, column: str) -> pd.Series:
    """Whole numbers, also when written as "1.0", " 1" or 1.0; anything else names the bad rows."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    whole = np.isfinite(numbers) & (numbers == np.round(numbers)) & (np.abs(numbers) <= _LARGEST_WHOLE)
    bad = pd.Series(~whole)
    if bad.any():
        raise DataError(
            f"{source}: column '{column}' must hold whole numbers; found {_found(values[bad.to_numpy()])} "
            f"in row(s) {_bad_rows(bad)}"
        )
    return pd.Series(numbers.astype("int64"), index=values.index)


def _check_header(names: list[str], required: Iterable[str], source: str) -> None:
    """Each required column exactly once (names already stripped); other columns are allowed."""
    repeated = sorted({name for name in names if name in required and names.count(name) > 1})
    if repeated:  # which of the copies is meant is anyone's guess
        raise DataError(f"{source}: column(s) {', '.join(repeated)} appear more than once in the header")
    missing = [name for name in required if name not in names]
    if missing:
        raise DataError(
            f"{source}: missing required column(s) {', '.join(missing)}; found {', '.join(map(repr, names)) or 'none'}"
        )


def _columns_by_name(frame: pd.DataFrame, columns: dict[str, str], source: str) -> pd.DataFrame:
    """Pick the required ``columns`` by name (any order, surrounding spaces ignored; others dropped)."""
    names = [str(name).strip() for name in frame.columns]
    _check_header(names, columns, source)
    return frame.set_axis(names, axis=1)[list(columns)].rename(columns=columns).reset_index(drop=True)


def normalize(frame: pd.DataFrame, columns: dict[str, str], source: str) -> pd.DataFrame:
    """Rename ``columns`` onto the schema and validate every row; raise :class:`DataError` on bad input."""
    source_name = {schema: original for original, schema in columns.items()}  # errors name the user's columns
    frame = _columns_by_name(frame, columns, source)
    if frame.empty:
        raise DataError(f"{source}: no data rows")

    text = frame[TEXT]
    empty = text.isna() | text.astype(str).str.strip().eq("")
    if empty.any():
        raise DataError(f"{source}: empty or missing tweet text in row(s) {_bad_rows(empty)}")

    out = pd.DataFrame({TEXT: text.astype(str)})
    out[LABEL] = _integers(frame[LABEL], source, source_name[LABEL])
    bad_label = ~out[LABEL].isin(range(len(LABELS)))
    if bad_label.any():
        values = sorted(set(out.loc[bad_label, LABEL].tolist()))
        raise DataError(
            f"{source}: label ('class') must be 0 (hate speech), 1 (offensive language) or 2 (neither); "
            f"found {values} in row(s) {_bad_rows(bad_label)}"
        )
    for column in COUNT_COLUMNS:
        out[column] = _integers(frame[column], source, source_name[column])
        negative = out[column] < 0
        if negative.any():
            raise DataError(f"{source}: column '{source_name[column]}' is negative in row(s) {_bad_rows(negative)}")
    repeats = int(out.duplicated().sum())
    if repeats:  # kept: they are in the authors' data as published, and the split keeps copies together
        log.warning("%s: %d row(s) repeat an earlier row exactly; kept", source, repeats)
    return out


def stratified_sample(frame: pd.DataFrame, rows: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` rows of ``frame`` with its class proportions, in their original order (a quick smoke run's data)."""
    if rows < 1:
        raise DataError(f"download.max_rows must be a positive number of rows, got {rows}")
    if rows >= len(frame):
        return frame
    from sklearn.model_selection import train_test_split

    try:
        kept, _ = train_test_split(frame, train_size=rows, stratify=frame[LABEL], random_state=seed)
    except ValueError as exc:  # fewer rows than classes, or a class with a single row
        raise DataError(f"cannot take a stratified sample of {rows} rows: {exc}") from exc
    return kept.sort_index().reset_index(drop=True)


def class_counts(labels: pd.Series) -> dict[str, int]:
    counts = labels.value_counts()
    return {name: int(counts.get(i, 0)) for i, name in enumerate(LABELS)}
