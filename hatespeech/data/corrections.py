"""Corrections: what users say a text's label should be (Perspective's ``comments:suggestscore``), kept where an
acknowledged one survives a crash, and exported as a CSV the pipeline can train on.

Two stores, one schema: SQLite (the default: one file, WAL mode, every write committed with a full sync before
the service answers) and PostgreSQL (a ``postgresql://`` URL, for several service replicas behind a load balancer;
``psycopg``). A correction is one row per (text, label, caller): the same suggestion again counts once more in
``suggestions``, never as a second row. The export (:func:`write_corrections`) writes one row per (text, label)
with its provenance; :func:`read_corrections` validates that file for the augment stage.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from hatespeech import LABEL, LABEL2ID, LABELS, TEXT, PipelineError
from hatespeech.config import PARAMS_YAML, Section
from hatespeech.io import atomic_output

COLUMNS = ("text", "label", "suggestions", "callers", "communities", "models", "first_at", "last_at")
CORRECTIONS_FILE = "corrections.csv"  # in data/feedback/, the augment stage's optional source
_CREATE = """
CREATE TABLE IF NOT EXISTS corrections (
    id {id},
    text TEXT NOT NULL,
    text_sha256 TEXT NOT NULL,
    label TEXT NOT NULL,
    scores TEXT NOT NULL,
    caller TEXT NOT NULL,
    community_id TEXT,
    client_token TEXT,
    model TEXT,
    suggestions INTEGER NOT NULL DEFAULT 1,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    UNIQUE (text_sha256, label, caller)
)"""
_UPSERT = """
INSERT INTO corrections (text, text_sha256, label, scores, caller, community_id, client_token, model, first_at, last_at)
VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})
ON CONFLICT (text_sha256, label, caller) DO UPDATE SET
    suggestions = corrections.suggestions + 1, scores = excluded.scores, last_at = excluded.last_at
RETURNING suggestions"""
_SELECT = "SELECT text, label, suggestions, caller, community_id, model, first_at, last_at FROM corrections ORDER BY id"


@dataclass(frozen=True)
class Correction:
    text: str
    label: str  # one of LABELS
    scores: dict[str, float]  # the suggested attribute scores, as sent
    caller: str  # the API key's name ("" when the service takes no keys)
    community_id: str | None = None
    client_token: str | None = None
    model: str | None = None  # the served model's data_sha256 and checkpoint: which model the user corrected

    def values(self) -> tuple:
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        digest = hashlib.sha256(self.text.encode("utf-8")).hexdigest()
        scores = json.dumps(self.scores, sort_keys=True)
        return (
            self.text,
            digest,
            self.label,
            scores,
            self.caller,
            self.community_id,
            self.client_token,
            self.model,
            now,
            now,
        )


class CorrectionStore:
    """A SQLite file or a PostgreSQL database holding corrections; thread-safe, every :meth:`add` durable. The
    connection opens at the first use (a service that is never sent a correction creates no file)."""

    def __init__(self, location: str) -> None:
        self.location = location
        self._lock = threading.Lock()
        self.postgres = location.startswith(("postgresql://", "postgres://"))
        self._open: Any = None

    @property
    def _connection(self) -> Any:
        """The open connection (called with the lock held)."""
        if self._open is None:
            try:
                self._open = self._connect_postgres() if self.postgres else self._connect_sqlite()
            except Exception as exc:  # sqlite3 and psycopg errors alike: one line naming the store
                raise PipelineError(f"cannot open the corrections store {self.display}: {exc}") from exc
        return self._open

    @property
    def display(self) -> str:
        """The location without a password (a PostgreSQL URL may hold one)."""
        if not self.postgres or "@" not in self.location:
            return self.location
        scheme, rest = self.location.split("://", 1)
        return f"{scheme}://…@{rest.rsplit('@', 1)[1]}"

    def _connect_sqlite(self) -> Any:
        Path(self.location).parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.location, check_same_thread=False, isolation_level=None, timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")  # a commit is on disk before add() returns
        connection.execute(_CREATE.format(id="INTEGER PRIMARY KEY AUTOINCREMENT"))
        return connection

    def _connect_postgres(self) -> Any:
        import psycopg

        connection = psycopg.connect(self.location, autocommit=True)
        connection.execute(_CREATE.format(id="BIGSERIAL PRIMARY KEY"))
        return connection

    def add(self, correction: Correction) -> int:
        """Store ``correction`` (committed before this returns); how many times it has now been suggested."""
        if correction.label not in LABELS:
            raise PipelineError(f"a correction's label must be one of {', '.join(LABELS)}, got {correction.label!r}")
        sql = _UPSERT.format(p="%s" if self.postgres else "?")
        with self._lock:
            if self.postgres:
                with self._connection.transaction():
                    row = self._connection.execute(sql, correction.values()).fetchone()
            else:
                with self._sqlite_transaction():
                    row = self._connection.execute(sql, correction.values()).fetchone()
        return int(row[0])

    @contextmanager
    def _sqlite_transaction(self) -> Iterator[None]:
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")

    def rows(self) -> list[tuple]:
        with self._lock:
            return list(self._connection.execute(_SELECT).fetchall())

    def close(self) -> None:
        with self._lock:
            if self._open is not None:
                self._open.close()
                self._open = None


def corrections_table(rows: list[tuple]) -> pd.DataFrame:
    """One row per (text, label): suggestions summed, callers, communities and models joined, first and last time."""
    frame = pd.DataFrame(
        rows, columns=["text", "label", "suggestions", "caller", "community_id", "model", "first_at", "last_at"]
    )
    if frame.empty:
        return pd.DataFrame(columns=list(COLUMNS))

    def joined(values: pd.Series) -> str:
        return ";".join(sorted({str(v) for v in values if v}))

    grouped = frame.groupby(["text", "label"], sort=False).agg(
        suggestions=("suggestions", "sum"),
        callers=("caller", joined),
        communities=("community_id", joined),
        models=("model", joined),
        first_at=("first_at", "min"),
        last_at=("last_at", "max"),
    )
    return grouped.reset_index()[list(COLUMNS)]


def write_corrections(store: CorrectionStore, path: str | Path) -> pd.DataFrame:
    """Export the store to ``path`` (CSV, written atomically); returns what was written."""
    table = corrections_table(store.rows())
    with atomic_output(path) as target:
        table.to_csv(target, index=False)
    return table


def read_corrections(path: str | Path) -> pd.DataFrame:
    """An exported corrections file, checked: the columns, a text in every row, a known label, counts >= 1."""
    try:
        frame = pd.read_csv(path, dtype={"text": str, "label": str}, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise PipelineError(f"cannot read the corrections file {path}: {exc}") from None
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise PipelineError(f"{path} lacks column(s) {', '.join(missing)}: export it with hatespeech-feedback export")
    bad = frame.index[(frame["text"].str.strip() == "") | ~frame["label"].isin(LABELS)].tolist()
    if bad:
        rows = ", ".join(str(i + 2) for i in bad[:5])
        raise PipelineError(f"{path}: row(s) {rows} have no text or a label outside {', '.join(LABELS)}")
    counts = pd.to_numeric(frame["suggestions"], errors="coerce")
    if counts.isna().any() or (counts < 1).any():
        raise PipelineError(f"{path}: 'suggestions' must be a whole number of at least 1 in every row")
    return frame


@dataclass(frozen=True)
class FeedbackConfig(Section):
    """params.yaml's ``feedback`` section (read by the augment stage)."""

    SECTION = "feedback"

    weight: int = PARAMS_YAML

    def validate(self) -> None:
        if self.weight < 0:
            raise PipelineError(f"feedback.weight must be 0 (off) or a number of copies, got {self.weight}")


def correction_rows(
    corrections: pd.DataFrame, train: pd.DataFrame, held_out: list[pd.DataFrame], weight: int, key: Any
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """(the train split without the tweets a correction relabels, the corrections as ``weight`` copies of train
    rows, counts). A correction whose ``key`` (the split's near-duplicate key) is a validation or test tweet's is
    dropped and counted: corrections only ever reach training."""
    held = {key(text) for frame in held_out for text in frame[TEXT]}
    keys = corrections[TEXT].map(key)
    usable = corrections[~keys.isin(held)]
    corrected = set(keys[~keys.isin(held)])
    relabelled = train[TEXT].map(key).isin(corrected)
    rows = pd.DataFrame({TEXT: usable[TEXT].to_numpy(), LABEL: usable[LABEL].map(LABEL2ID).to_numpy()})
    rows = pd.concat([rows] * weight, ignore_index=True) if weight else rows.iloc[0:0]
    counts = {
        "corrections": int(len(corrections)),
        "dropped_held_out": int(len(corrections) - len(usable)),
        "train_tweets_relabelled": int(relabelled.sum()),
        "rows_added": int(len(rows)),
    }
    return train[~relabelled].reset_index(drop=True), rows, counts
