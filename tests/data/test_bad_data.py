"""Bad data (issue #7): download and split fed generated CSVs.

Every generated file either loads to exactly what its clean equivalent gives, or stops the stage with
exit status 2, one line `error: <stage>: ...` naming the problem, and no output file. The properties run
the stage scripts in process (through :func:`hatespeech.cli.run_stage`, as their ``__main__`` does), so
hundreds of examples stay fast; a few real subprocess runs check the same contract end to end.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import random
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest
import yaml
from helpers import ROOT, make_project, run_script, stage_command
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hatespeech import LABELS
from hatespeech.cli import EXIT_BAD_INPUT, run_stage
from hatespeech.data.sources import SCHEMA
from hatespeech.data.splitting import SPLITS, near_duplicate_key

# Enough examples to matter, derandomized so that CI runs the same examples every time; no example
# database, so nothing is written into the checkout.
settings.register_profile(
    "bad-data-ci",
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,  # stage runs write parquet files: their time varies with the machine's load
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
BAD_DATA = settings.get_profile("bad-data-ci")

STAGE_NAMES = ("download", "split")
COMMANDS = {name: stage_command(name) for name in STAGE_NAMES}  # as dvc.yaml runs them
OUTPUTS = {
    "download": ("data/raw/tweets.parquet", "data/raw/manifest.json"),
    "split": ("data/split", "metrics/split_stats.json"),
}
# The authors' header: the unnamed first column is their row index (ignored, like any extra column).
REQUIRED = ("count", "hate_speech", "offensive_language", "neither", "class", "tweet")
COUNTS = ("count", "hate_speech", "offensive_language", "neither")


def _load_script(name: str) -> ModuleType:
    path = ROOT / COMMANDS[name][0]
    spec = importlib.util.spec_from_file_location(f"stage_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # defines main(); the run happens under `if __name__ == "__main__"`
    return module


SCRIPTS = {name: _load_script(name) for name in STAGE_NAMES}


# --- running a stage -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageResult:
    status: int
    stderr: str


def run_in_process(project: Path, stage: str) -> StageResult:
    """Run a stage script's main as `python stages/<stage>.py ...` would, from ``project``."""
    stderr = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        patch.setattr(sys, "argv", list(COMMANDS[stage]))
        patch.setattr(sys, "stderr", stderr)
        try:
            run_stage(stage, SCRIPTS[stage].main)
        except SystemExit as exit_:
            return StageResult(int(exit_.code), stderr.getvalue())
    return StageResult(0, stderr.getvalue())


def new_project(directory: Path, data: bytes, validation_size: float = 0.1, test_size: float = 0.1) -> Path:
    """``params.yaml`` (the project's, pointing at the data) and the data file: all a stage reads."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params = {  # only what download and split read: a shorter file to parse in each of many examples
        "base": params["base"],
        "download": {**params["download"], "source": str(directory / "labeled_data.csv")},
        "split": {"validation_size": validation_size, "test_size": test_size},
    }
    (directory / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (directory / "labeled_data.csv").write_bytes(data)
    return directory


def entries(project: Path) -> set[str]:
    """Every file and folder under the project (temporary folders of atomic writes included)."""
    return {path.relative_to(project).as_posix() for path in project.rglob("*")}


def assert_failed_cleanly(result: StageResult, stage: str, before: set[str], project: Path) -> str:
    """Exit status 2, exactly one line `error: <stage>: ...`, nothing written; returns the message."""
    assert result.status == EXIT_BAD_INPUT, result.stderr
    prefix = f"error: {stage}: "
    assert result.stderr.startswith(prefix) and result.stderr.count("\n") == 1 and result.stderr.endswith("\n"), (
        result.stderr
    )
    assert entries(project) == before
    return result.stderr[len(prefix) : -1]


# --- generated data --------------------------------------------------------------------------------

# Pieces that break naive CSV handling, mixed into otherwise arbitrary text.
AWKWARD = ['"', '""', ",", "\n", "\r\n", "\r", "'", " ", "\t", "NA", "NaN", "null", "None", "RT @u: ", "é", "😀"]
AWKWARD += ["\ufeff"]  # a byte-order mark inside a tweet is text
text_pieces = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=12),
    st.sampled_from(AWKWARD),
)
tweets = st.lists(text_pieces, min_size=1, max_size=6).map("".join).filter(str.strip)


@dataclass(frozen=True)
class Row:
    text: str
    label: int
    counts: tuple[int, int, int, int]

    def cells(self, number: Callable[[int], str]) -> dict[str, str]:
        return {"tweet": self.text, "class": number(self.label), **dict(zip(COUNTS, map(number, self.counts)))}


rows_ = st.builds(Row, tweets, st.integers(0, 2), st.tuples(*[st.integers(0, 9)] * 4))

# Ways of writing a whole number that all mean the same number.
NUMBER_STYLES: tuple[Callable[[int], str], ...] = (
    str,
    lambda n: f"{n}.0",
    lambda n: f" {n}",
    lambda n: f"{n} ",
    lambda n: f"+{n}",
    lambda n: f"{n}e0",
    lambda n: f"{float(n)!r}",
)


@dataclass(frozen=True)
class Layout:
    """How a file is written: none of it changes what the file means."""

    columns: tuple[str, ...]  # the required ones plus extras, in file order
    pad_names: bool  # spaces around the header's names
    number: Callable[[int], str]
    quote_all: bool  # or only where needed
    newline: str
    bom: bool
    blank_lines: tuple[int, ...]  # positions of blank lines between rows


CLEAN = Layout(("", *REQUIRED), False, str, False, "\n", False, ())  # the authors' own format


@st.composite
def layouts(draw: st.DrawFn) -> Layout:
    extras = draw(st.lists(st.sampled_from(["", "Unnamed: 0", "id", "notes", "class_name"]), unique=True, max_size=3))
    return Layout(
        columns=tuple(draw(st.permutations([*REQUIRED, *extras]))),
        pad_names=draw(st.booleans()),
        number=draw(st.sampled_from(NUMBER_STYLES)),
        quote_all=draw(st.booleans()),
        newline=draw(st.sampled_from(["\n", "\r\n"])),
        bom=draw(st.booleans()),
        blank_lines=tuple(draw(st.lists(st.integers(0, 40), max_size=3))),
    )


def csv_line(fields: list[str], quote_all: bool, newline: str) -> str:
    """One RFC 4180 record. Not csv.writer: before Python 3.13 it leaves a lone CR unquoted when the
    line terminator is LF, which makes a file that no reader can split back into the same rows."""

    def cell(value: str) -> str:
        if quote_all or any(char in value for char in ',"\r\n'):
            return '"' + value.replace('"', '""') + '"'
        return value

    return ",".join(map(cell, fields)) + newline


def render(rows: list[Row], layout: Layout, extra_rows: list[list[str]] = ()) -> str:
    """The CSV text; ``extra_rows`` are appended as they are (already in the file's column order)."""

    def line(fields: list[str]) -> str:
        return csv_line(fields, layout.quote_all, layout.newline)

    lines = [line([f" {name} " if layout.pad_names else name for name in layout.columns])]
    for i, row in enumerate(rows):
        if i in layout.blank_lines:
            lines.append(layout.newline)
        cells = row.cells(layout.number)
        lines.append(line([cells.get(name, f"x{i}" if name else str(i)) for name in layout.columns]))
    lines += map(line, extra_rows)
    return "".join(lines)


def encode(text: str, layout: Layout) -> bytes:
    return ("\ufeff" if layout.bom else "").encode() + text.encode("utf-8")


def expected_frame(rows: list[Row]) -> pd.DataFrame:
    return pd.DataFrame([(r.text, r.label, *r.counts) for r in rows], columns=list(SCHEMA)).astype(
        {name: "int64" for name in SCHEMA[1:]}
    )


@st.composite
def datasets(draw: st.DrawFn) -> list[Row]:
    """Rows, some of them repeated exactly (duplicates are data: they are kept)."""
    rows = draw(st.lists(rows_, min_size=1, max_size=25))
    for at, source in draw(st.lists(st.tuples(st.integers(0, len(rows)), st.integers(0, len(rows) - 1)), max_size=3)):
        rows.insert(at, rows[source])
    return rows


def row_list(numbers: list[int]) -> str:
    """Row numbers as the error messages give them: the first five, then how many more."""
    shown = ", ".join(map(str, numbers[:5]))
    return shown + (f" and {len(numbers) - 5} more" if len(numbers) > 5 else "")


# --- download: what loads ----------------------------------------------------------------------------


@pytest.mark.slow  # many generated layouts
@BAD_DATA
@given(rows=datasets(), layout=layouts())
def test_any_layout_of_good_data_loads_like_the_clean_file(rows: list[Row], layout: Layout):
    with tempfile.TemporaryDirectory() as directory:
        project = new_project(Path(directory), encode(render(rows, layout), layout))
        result = run_in_process(project, "download")
        assert result.status == 0, result.stderr
        frame = pd.read_parquet(project / "data/raw/tweets.parquet")
        pd.testing.assert_frame_equal(frame, expected_frame(rows), check_dtype=False)
        assert [str(frame[c].dtype) for c in SCHEMA[1:]] == ["int64"] * 5
        manifest = json.loads((project / "data/raw/manifest.json").read_text())
        assert manifest["rows"] == len(rows)
        assert manifest["class_counts"] == {name: sum(r.label == i for r in rows) for i, name in enumerate(LABELS)}


def test_the_clean_layout_is_the_authors_format():
    """The reference the property compares with is the real file's format, header and all."""
    real_header = b",count,hate_speech,offensive_language,neither,class,tweet\n"
    assert encode(render([Row("hi", 1, (3, 0, 3, 0))], CLEAN), CLEAN) == real_header + b"0,3,0,3,0,1,hi\n"


# --- download: what is rejected ----------------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    data: bytes
    says: tuple[str, ...]  # parts of the one-line error that name the problem and where it is


def bad(data: bytes, *says: str) -> Bad:
    return Bad(data, says)


# A bad value in some cells: the columns, the values, and what the error says.
BAD_CELLS: dict[str, tuple[tuple[str, ...], tuple[str, ...], Callable[[str, str], str]]] = {
    "empty_text": (("tweet",), ("", " ", "\n", "\t \r\n"), lambda c, v: "empty or missing tweet text"),
    "label_out_of_range": (("class",), ("3", "-1", "7.0", "12"), lambda c, v: f"found [{int(float(v))}]"),
    "label_not_whole": (
        ("class",),
        ("", "1.5", "two", "hate_speech", "nan", "NaN", "inf", "-inf", "1e30", "True", "0x1"),
        lambda c, v: f"column 'class' must hold whole numbers; found {[v]!r}",
    ),
    "count_negative": (COUNTS, ("-1", "-3.0"), lambda c, v: f"column '{c}' is negative"),
    "count_not_whole": (
        COUNTS,
        ("", "2.5", "three", "inf", "1e30"),
        lambda c, v: f"column '{c}' must hold whole numbers; found {[v]!r}",
    ),
}


@st.composite
def bad_files(draw: st.DrawFn, kinds: tuple[str, ...]) -> Bad:
    """A good file with exactly one thing of ``kinds`` wrong, and what the error must say about it."""
    rows = draw(datasets())
    layout = draw(layouts())
    n = len(rows)
    some_rows = st.lists(st.integers(0, n - 1), min_size=1, max_size=8, unique=True).map(sorted)
    kind = draw(st.sampled_from(kinds))
    event(kind)  # `pytest --hypothesis-show-statistics` shows how often each kind ran
    if kind == "missing_column":
        column = draw(st.sampled_from(REQUIRED))
        layout = replace(layout, columns=tuple(c for c in layout.columns if c != column))
        return bad(encode(render(rows, layout), layout), f"missing required column(s) {column}")
    if kind == "repeated_column":
        column = draw(st.sampled_from(REQUIRED))
        layout = replace(layout, columns=(*layout.columns, column))
        return bad(encode(render(rows, layout), layout), f"column(s) {column} appear more than once")
    if kind in BAD_CELLS:
        columns, values, problem = BAD_CELLS[kind]
        column, value, chosen = draw(st.sampled_from(columns)), draw(st.sampled_from(values)), draw(some_rows)
        # Re-render with the chosen cells replaced by the raw string (not formatted as a number).
        header, *data = [r for r in csv.reader(io.StringIO(render(rows, layout), newline=""), strict=True) if r]
        for i in chosen:
            data[i][layout.columns.index(column)] = value
        text = "".join(csv_line(r, layout.quote_all, layout.newline) for r in [header, *data])
        return bad(encode(text, layout), problem(column, value), f"in row(s) {row_list([i + 1 for i in chosen])}")
    if kind == "latin1":
        at = draw(st.integers(0, n - 1))
        rows = [*rows[:at], replace(rows[at], text="café au lait"), *rows[at + 1 :]]
        good = encode(render(rows, layout), layout)
        offset = good.index("café".encode()) + 3  # the file is valid UTF-8 up to there
        data = good.replace("café".encode(), b"caf\xe9", 1)
        line = data[:offset].count(b"\n") + 1
        return bad(data, f"is not valid UTF-8: byte 0xe9 at offset {offset} (line {line})")
    if kind == "utf16":
        codec = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "utf-32"]))
        message = "UTF-16 or UTF-32 encoded" if codec in ("utf-16", "utf-32") else "contains a NUL byte at offset"
        return bad(render(rows, layout).encode(codec), message)
    if kind in ("unclosed_quote", "junk_after_quote", "ragged_row"):
        cells = Row("fine", 1, (3, 0, 3, 0)).cells(str)
        if kind == "ragged_row":  # a tweet with an unquoted comma: one field too many
            text = render(rows, layout, [[cells.get(name, "") for name in layout.columns] + ["and more"]])
            return bad(encode(text, layout), f"row(s) {n + 1} do not have the header's {len(layout.columns)} fields")
        # Written as is, not through csv_line, which would quote the quotes properly.
        cells["tweet"] = '"never closed' if kind == "unclosed_quote" else '"quoted"then more'
        line = ",".join(cells.get(name, "") for name in layout.columns) + layout.newline
        return bad(encode(render(rows, layout) + line, layout), "is not a readable CSV")
    if kind == "header_only":
        return bad(encode(render([], layout), layout), "no data rows")
    return bad(encode(draw(st.sampled_from(["", " ", "\n\n", "\r\n \t"])), layout), "is empty")


# Grouped, so that each kind is drawn often: Hypothesis favours the first of many choices.
BAD_KINDS = {
    "header": ("missing_column", "repeated_column", "header_only", "empty_file"),
    "cells": tuple(BAD_CELLS),
    "syntax": ("unclosed_quote", "junk_after_quote", "ragged_row"),
    "encoding": ("latin1", "utf16"),
}


@pytest.mark.slow  # generated bad files through the stages
@pytest.mark.parametrize("group", BAD_KINDS)
@BAD_DATA
@given(data=st.data())
def test_bad_files_fail_with_one_clear_line_and_no_output(group: str, data: st.DataObject):
    bad = data.draw(bad_files(BAD_KINDS[group]), label="bad")
    with tempfile.TemporaryDirectory() as directory:
        project = new_project(Path(directory), bad.data)
        before = entries(project)
        message = assert_failed_cleanly(run_in_process(project, "download"), "download", before, project)
        assert all(part in message for part in bad.says), bad.says
        assert message.startswith(str(project / "labeled_data.csv"))  # says which file


# --- split: classes and sizes ------------------------------------------------------------------------


@st.composite
def labelled_groups(draw: st.DrawFn) -> tuple[list[Row], dict[int, int]]:
    """Distinct tweets per class (0 to 40 each: single classes, tiny classes, enough), some with copies.

    Copies (retweets and exact duplicates) share the tweet's label: with it, one near-duplicate group.
    Which tweets get copies and the row order come from two drawn numbers, not a draw per row: a few
    hundred draws per example would make Hypothesis discard many examples as too large.
    """
    per_class = {label: draw(st.integers(0, 40)) for label in range(len(LABELS))}
    copy_every, seed = draw(st.integers(1, 6)), draw(st.integers(0, 2**16))
    rows = []
    for label, groups in per_class.items():
        for g in range(groups):
            text = f"class{label} tweet{g} {'lorem ipsum' * (g % 3)}"
            copies = {0: [text], 1: [f"RT @fan{g}: {text.upper()}!!"]}.get(g % copy_every, [])
            rows += [Row(t, label, (3, 0, 0, 3)) for t in [text, *copies]]
    random.Random(seed).shuffle(rows)
    return rows, per_class


@pytest.mark.slow  # generated data through the split stage
@BAD_DATA
@given(data=labelled_groups(), sizes=st.sampled_from([(0.1, 0.1), (0.2, 0.1), (0.15, 0.25), (0.3, 0.3), (0.05, 0.05)]))
def test_split_stratifies_every_class_or_names_the_short_one(
    data: tuple[list[Row], dict[int, int]], sizes: tuple[float, float]
):
    rows, per_class = data
    validation_size, test_size = sizes
    with tempfile.TemporaryDirectory() as directory:
        project = new_project(Path(directory), encode(render(rows, CLEAN), CLEAN), validation_size, test_size)
        downloaded = run_in_process(project, "download")
        if not rows:
            assert_failed_cleanly(downloaded, "download", {"params.yaml", "labeled_data.csv"}, project)
            return
        assert downloaded.status == 0, downloaded.stderr
        before = entries(project)
        result = run_in_process(project, "split")

        short = [LABELS[label] for label, groups in per_class.items() if groups < 3]
        # sklearn gives each class its share of a split rounded down, or one less: with a share of 4 or
        # more in the smallest split, every class reaches every split and the split must succeed.
        roomy = min(per_class.values()) * min(validation_size, test_size, 1 - validation_size - test_size) >= 4
        event("split: " + ("ok" if result.status == 0 else "short class" if short else "too small to stratify"))
        if short:
            message = assert_failed_cleanly(result, "split", before, project)
            assert "too few distinct tweets of class" in message and all(repr(name) in message for name in short)
        elif result.status != 0:
            assert not roomy, result.stderr
            message = assert_failed_cleanly(result, "split", before, project)
            assert "too small to stratify" in message or "too few to stratify" in message
        if result.status != 0:  # every failure gives the numbers to act on
            counts = {LABELS[label]: groups for label, groups in per_class.items()}
            assert f"distinct tweets per class {counts}" in message
            return

        parts = {name: pd.read_parquet(project / f"data/split/{name}.parquet") for name in SPLITS}
        everything = pd.concat(parts.values(), ignore_index=True)
        assert sorted(zip(everything["text"], everything["label"])) == sorted((r.text, r.label) for r in rows)
        for name, part in parts.items():
            assert set(part["label"]) == {0, 1, 2}, name
        home = {key: name for name, part in parts.items() for key in part["text"].map(near_duplicate_key)}
        for name, part in parts.items():
            assert all(home[key] == name for key in part["text"].map(near_duplicate_key))  # copies together
        stats = json.loads((project / "metrics/split_stats.json").read_text())
        assert {name: s["rows"] for name, s in stats["splits"].items()} == {n: len(p) for n, p in parts.items()}


# --- the real commands -------------------------------------------------------------------------------


def _real_csv(path: Path, rows: list[Row], corrupt: Callable[[bytes], bytes] = lambda data: data) -> Path:
    path.write_bytes(corrupt(encode(render(rows, CLEAN), CLEAN)))
    return path


SOME_ROWS = [Row(f"tweet number {i} about café", i % 3, (3, 0, 0, 3)) for i in range(60)]


@pytest.mark.slow  # stage processes
@pytest.mark.parametrize(
    ("stage", "rows", "corrupt", "message"),
    [
        ("download", SOME_ROWS, lambda d: d.replace("café".encode(), b"caf\xe9"), "is not valid UTF-8: byte 0xe9"),
        ("download", SOME_ROWS, lambda d: d.replace(b",class,", b",label,"), "missing required column(s) class"),
        ("download", SOME_ROWS, lambda d: d.replace(b"number 7 about", b"number, 7 about"), "do not have the header"),
        ("split", [r for r in SOME_ROWS if r.label != 0], None, "too few distinct tweets of class 'hate_speech'"),
        ("split", SOME_ROWS[:12], None, "the test split is too small to stratify"),
    ],
)
def test_the_stage_commands_fail_cleanly(tmp_path, stage, rows, corrupt, message):
    data = _real_csv(tmp_path / "labeled_data.csv", rows, corrupt or (lambda d: d))
    project = make_project(tmp_path / "p", str(data), "unused")
    if stage == "split":
        assert run_script(project, *COMMANDS["download"]).returncode == 0
    before = entries(project)
    result = run_script(project, *COMMANDS[stage])
    assert result.returncode == EXIT_BAD_INPUT, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0] == result.stderr.rstrip("\n").splitlines()[-1], result.stderr
    assert errors[0].startswith(f"error: {stage}: ") and message in errors[0]
    assert "Traceback" not in result.stderr
    assert entries(project) == before and not any((project / out).exists() for out in OUTPUTS[stage])


@pytest.mark.slow  # stage processes
def test_split_without_the_download_output_says_so(tmp_path):
    project = make_project(tmp_path / "p", "unused.csv", "unused")
    result = run_script(project, *COMMANDS["split"])
    assert result.returncode == EXIT_BAD_INPUT
    expected = "error: split: data/raw/tweets.parquet not found: run the stage that writes it first"
    assert result.stderr.strip() == expected
