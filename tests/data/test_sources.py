"""download: loading the authors' CSV or the Hub into one validated schema, and its bad inputs."""

from __future__ import annotations

import pandas as pd
import pytest

from hatespeech.data.sources import SCHEMA, DataError, is_file_source, load_hub, load_source, parse_authors_csv
from hatespeech.testing import HEADER, make_rows


def csv_bytes(rows: list[list], header: list[str] = HEADER) -> bytes:
    lines = [",".join(header)] + [",".join(f'"{v}"' if isinstance(v, str) else str(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def test_authors_csv_normalizes_to_schema(csv_file):
    loaded = load_source(str(csv_file))
    frame = loaded.frame
    assert list(frame.columns) == list(SCHEMA)
    assert loaded.kind == "csv" and len(loaded.source_sha256) == 64
    rows = make_rows()
    assert len(frame) == len(rows)
    assert frame["text"].tolist() == [r[6] for r in rows]
    assert frame["label"].tolist() == [r[5] for r in rows]
    assert frame["hate_speech_count"].tolist() == [r[2] for r in rows]


def test_the_real_header_and_quoting_parse():
    raw = (
        b",count,hate_speech,offensive_language,neither,class,tweet\n"
        b'0,3,0,0,3,2,"!!! RT @mayasolovely: As a woman you shouldn\'t complain &amp; ok"\n'
        b'1,3,0,3,0,1,"line one\nline two, with a comma and ""quotes"""\n'
        b"2,3,0,3,0,1,NA\n"
    )
    frame = parse_authors_csv(b"\xef\xbb\xbf" + raw.replace(b"\n", b"\r\n"), "x.csv")
    assert frame["text"].tolist()[1] == 'line one\r\nline two, with a comma and "quotes"'
    assert frame["text"].tolist()[2] == "NA"  # a tweet reading NA is text, not a missing value
    assert frame["label"].tolist() == [2, 1, 1]


def test_labels_written_as_floats_or_strings_load():
    rows = [[0, 3, 0, 0, 3, "2.0", "hello"], [1, 3, 3, 0, 0, " 0", "bye"]]
    assert parse_authors_csv(csv_bytes(rows), "x").label.tolist() == [2, 0]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "is empty"),
        (b"   \n", "is empty"),
        (csv_bytes(make_rows(5), HEADER[:-1]), "missing required column(s) tweet"),
        (csv_bytes([[0, 3, 0, 0, 3, 7, "text"]]), "found [7] in row(s) 1"),
        (csv_bytes([[0, 3, 0, 0, 3, 2, "ok"], [1, 3, 0, 0, 3, 2, "  "]]), "empty or missing tweet text in row(s) 2"),
        (b",count,hate_speech,offensive_language,neither,class,tweet\n0,3,0,0,3,2,\n", "empty or missing tweet text"),
        (csv_bytes([[0, 3, 0, 0, 3, "two", "text"]]), "column 'class' must hold whole numbers"),
        (csv_bytes([[0, 3, 0, 0, 3, 1.5, "text"]]), "column 'class' must hold whole numbers"),
        (csv_bytes([[0, -1, 0, 0, 3, 1, "text"]]), "column 'count' is negative"),
        (b",count,hate_speech,offensive_language,neither,class,tweet\n", "no data rows"),
        (csv_bytes([[0, 3, 0, 0, 3, 2, "caf\xe9"]]).replace(b"\xc3\xa9", b"\xe9"), "not valid UTF-8: byte 0xe9"),
    ],
)
def test_bad_csv_is_a_clear_error(raw, message):
    with pytest.raises(DataError) as error:
        parse_authors_csv(raw, "bad.csv")
    assert message in str(error.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="data file not found"):
        load_source(str(tmp_path / "nope.csv"))


def test_unreachable_hub_fails_fast_and_says_how_to_go_local():
    with pytest.raises(DataError) as error:
        load_hub("tdavidson/hate_speech_offensive")
    message = str(error.value)
    assert "could not load the dataset 'tdavidson/hate_speech_offensive'" in message
    assert "Plain `make run`" in message and "data/hate_speech_offensive/labeled_data.csv.gz" in message


def test_hub_schema_normalizes_like_the_csv(monkeypatch):
    import datasets

    table = pd.DataFrame(
        {
            "count": [3],
            "hate_speech_count": [0],
            "offensive_language_count": [3],
            "neither_count": [0],
            "class": [1],
            "tweet": ["RT something"],
        }
    )
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: datasets.Dataset.from_pandas(table))
    frame = load_hub("tdavidson/hate_speech_offensive").frame
    assert frame.to_dict("records") == [
        {
            "text": "RT something",
            "label": 1,
            "count": 3,
            "hate_speech_count": 0,
            "offensive_language_count": 3,
            "neither_count": 0,
        }
    ]


@pytest.mark.parametrize(
    ("source", "is_file"),
    [
        ("tdavidson/hate_speech_offensive", False),
        ("data/labeled_data.csv", True),
        ("/abs/path/file", True),
        ("https://example.org/labeled_data.csv", True),
    ],
)
def test_source_kind(source, is_file):
    assert is_file_source(source) is is_file


def test_written_table_round_trips(tmp_path, csv_file):
    from hatespeech.io import read_table, write_table

    frame = load_source(str(csv_file)).frame
    write_table(frame, tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(read_table(tmp_path / "t.parquet"), frame)


def test_csv_from_a_url(csv_file):
    loaded = load_source(csv_file.resolve().as_uri())
    assert loaded.kind == "csv" and len(loaded.frame) == len(make_rows())


def test_unreachable_url_is_a_clear_error():
    with pytest.raises(DataError, match="could not download http://127.0.0.1:9/labeled_data.csv"):
        load_source("http://127.0.0.1:9/labeled_data.csv")
