"""Users' corrections: the store (one row per text, label and caller), the export the pipeline reads, and their
rows in the train split only."""

from __future__ import annotations

import pandas as pd
import pytest

from hatespeech import LABEL, TEXT, PipelineError
from hatespeech.data.corrections import (
    Correction,
    CorrectionStore,
    FeedbackConfig,
    correction_rows,
    read_corrections,
    write_corrections,
)
from hatespeech.data.splitting import near_duplicate_key
from hatespeech.workflow.feedback import main as feedback_main


def test_a_repeated_suggestion_is_one_row_counted_and_the_export_reads_back(tmp_path, capsys):
    store = CorrectionStore(str(tmp_path / "corrections.db"))
    for caller in ("a", "a", "b"):
        store.add(Correction("they should go", "hate_speech", {"IDENTITY_ATTACK": 0.9}, caller, "forum", model="m1"))
    assert store.add(Correction("lovely day", "neither", {"TOXICITY": 0.1}, "a")) == 1
    assert [(r[0], r[2], r[3]) for r in store.rows()] == [
        ("they should go", 2, "a"),
        ("they should go", 1, "b"),
        ("lovely day", 1, "a"),
    ]
    with pytest.raises(PipelineError, match="label must be one of"):
        store.add(Correction("x", "spam", {}, "a"))
    table = write_corrections(store, tmp_path / "corrections.csv")
    assert table.to_dict("records")[0] | {"first_at": None, "last_at": None} == {
        "text": "they should go",
        "label": "hate_speech",
        "suggestions": 3,
        "callers": "a;b",
        "communities": "forum",
        "models": "m1",
        "first_at": None,
        "last_at": None,
    }
    assert read_corrections(tmp_path / "corrections.csv")[TEXT].tolist() == ["they should go", "lovely day"]
    store.close()
    # The command line: export from the store the service wrote, and a missing store is one line.
    out = tmp_path / "exported.csv"
    assert feedback_main(["export", "--store", str(tmp_path / "corrections.db"), "--out", str(out)]) == 0
    assert "2 corrections (4 suggestions)" in capsys.readouterr().out and out.is_file()
    assert feedback_main(["export", "--store", str(tmp_path / "none.db"), "--out", str(out)]) == 2
    assert "no corrections store" in capsys.readouterr().err


@pytest.mark.parametrize(
    "content, message",
    [
        ("text,label\nhi,neither\n", "lacks column"),
        (
            "text,label,suggestions,callers,communities,models,first_at,last_at\nhi,spam,1,,,,,\n",
            r"row\(s\) 2 have no text",
        ),
        ("text,label,suggestions,callers,communities,models,first_at,last_at\nhi,neither,0,,,,,\n", "at least 1"),
    ],
)
def test_a_bad_corrections_file_is_refused_with_the_reason(tmp_path, content, message):
    (tmp_path / "c.csv").write_text(content)
    with pytest.raises(PipelineError, match=message):
        read_corrections(tmp_path / "c.csv")


def test_corrections_reach_training_only_replacing_what_they_relabel():
    train = pd.DataFrame({TEXT: ["RT @bob: you are great", "nice weather"], LABEL: [2, 2]})
    validation = pd.DataFrame({TEXT: ["held out tweet"], LABEL: [0]})
    test = pd.DataFrame({TEXT: ["a test tweet!"], LABEL: [1]})
    corrections = pd.DataFrame(
        {
            TEXT: ["you are great", "A TEST TWEET", "brand new"],
            "label": ["offensive_language", "neither", "hate_speech"],
        }
    )
    kept, rows, counts = correction_rows(corrections, train, [validation, test], 2, near_duplicate_key)
    assert kept[TEXT].tolist() == ["nice weather"]  # the retweet the correction relabels is replaced
    assert rows[TEXT].tolist() == ["you are great", "brand new"] * 2 and rows[LABEL].tolist() == [1, 0, 1, 0]
    assert counts == {"corrections": 3, "dropped_held_out": 1, "train_tweets_relabelled": 1, "rows_added": 4}
    with pytest.raises(PipelineError, match="feedback.weight"):
        FeedbackConfig.from_params({"weight": -1})
