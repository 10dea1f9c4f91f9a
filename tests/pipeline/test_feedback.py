"""End to end: corrections exported from the service's store, `dvc add`ed, and taken by `dvc repro` through the
feedback param, into the train split only."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers import dvc, git, init_repo, make_project, ran_stages, run, set_params

from hatespeech import TEXT
from hatespeech.data.corrections import Correction, CorrectionStore
from hatespeech.testing import make_rows, write_csv

pytestmark = pytest.mark.e2e


def test_exported_corrections_retrain_through_dvc_repro(tmp_path, tiny_model):
    data = write_csv(tmp_path / "labeled_data.csv", make_rows())
    project = make_project(tmp_path / "repo", str(data), str(tiny_model))
    init_repo(project)
    dvc(project, "repro", "tokenize_splits")  # up to date below: a changed train split makes it stale
    test_tweet = pd.read_parquet(project / "data/split/test.parquet")[TEXT].iloc[0]
    store = CorrectionStore(str(tmp_path / "corrections.db"))
    store.add(Correction("zorgon blapper frick dang", "hate_speech", {"IDENTITY_ATTACK": 0.9}, "newsroom"))
    store.add(Correction(test_tweet, "neither", {"TOXICITY": 0.0}, "newsroom"))  # a test tweet: never trained on
    store.close()
    export = ["hatespeech-feedback", "export", "--store", str(tmp_path / "corrections.db")]
    run([*export, "--out", "data/feedback/corrections.csv"], cwd=project)
    dvc(project, "add", "data/feedback/corrections.csv")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "corrections")
    assert ran_stages(dvc(project, "repro", "augment")) == ["augment"]  # the folder changed; weight 0: same rows
    set_params(project, "feedback", weight=3)
    assert ran_stages(dvc(project, "repro", "augment")) == ["augment"]
    stats = json.loads((project / "metrics/augment.json").read_text())["feedback"]
    assert stats == {"corrections": 2, "dropped_held_out": 1, "train_tweets_relabelled": 0, "rows_added": 3}
    train = pd.read_parquet(project / "data/augmented/train.parquet")
    added = train[train["source"] == "correction"]
    assert len(added) == 3 and set(added["label"]) == {0}
    status = json.loads(dvc(project, "status", "--json").stdout)
    assert "tokenize_splits" in status and "train" in status  # the next repro retrains on them
    assert {"changed deps": {"data/augmented": "modified"}} in status["tokenize_splits"]
