"""Load the Davidson et al. (2017) data from the Hub or the authors' CSV, into one validated schema."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import urllib.parse
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hatespeech import LABEL, LABELS, TEXT, VOTE_COLUMNS, PipelineError

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

OFFLINE_HINT = (
    "To use a local copy of the authors' labeled_data.csv instead, set download.source to its path, "
    "e.g. `make run-offline DATA=path/to/labeled_data.csv` or "
    "`dvc exp run -S download.source=path/to/labeled_data.csv`."
)


class DataError(PipelineError):
    """The input data is missing, unreadable or does not match the expected format."""


@dataclass(frozen=True)
class LoadedData:
    frame: pd.DataFrame
    source: str
    kind: str  # "csv" or "hub"
    source_sha256: str | None = None  # of the raw bytes, for file and URL sources


def is_file_source(source: str) -> bool:
    """A source is a CSV file (local path or URL) rather than a Hub dataset id."""
    return (
        source.startswith(("http://", "https://", "file://", "/", "./", "../", "~"))
        or source.lower().endswith(".csv")
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


def parse_authors_csv(raw: bytes, source: str) -> pd.DataFrame:
    """Parse the bytes of a CSV in the authors' format into the normalized schema."""
    if not raw.strip():
        raise DataError(f"{source} is empty: expected a CSV with columns {', '.join(CSV_COLUMNS)}")
    try:
        text = raw.decode("utf-8-sig")  # tolerate a byte-order mark
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{source} is not valid UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start} (line {line})"
        ) from exc
    try:
        # keep_default_na=False: a tweet reading "NA" or "null" is text, not a missing value.
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{source} is not a readable CSV: {exc}") from exc
    return normalize(frame, CSV_COLUMNS, source)


def load_csv(source: str) -> LoadedData:
    raw = _read_bytes(source)
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


def _integers(values: pd.Series, source: str, column: str) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() | (numbers != numbers.round())
    if bad.any():
        raise DataError(f"{source}: column '{column}' must hold whole numbers; bad value in row(s) {_bad_rows(bad)}")
    return numbers.astype("int64")


def normalize(frame: pd.DataFrame, columns: dict[str, str], source: str) -> pd.DataFrame:
    """Rename ``columns`` onto the schema and validate every row; raise :class:`DataError` on bad input."""
    frame = frame.rename(columns=lambda name: str(name).strip())
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: missing required column(s) {', '.join(missing)}; "
            f"found {', '.join(map(str, frame.columns)) or 'none'}"
        )
    source_name = {schema: original for original, schema in columns.items()}  # errors name the user's columns
    frame = frame[list(columns)].rename(columns=columns).reset_index(drop=True)
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
    return out


def class_counts(labels: pd.Series) -> dict[str, int]:
    counts = labels.value_counts()
    return {name: int(counts.get(i, 0)) for i, name in enumerate(LABELS)}


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    return pd.read_parquet(path)


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a parquet file (called on a temporary path; see :func:`hatespeech.files.atomic_output`)."""
    frame.reset_index(drop=True).to_parquet(path, index=False)
