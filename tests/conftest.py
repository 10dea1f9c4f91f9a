"""Shared fixtures: everything runs offline on synthetic data and a tiny BERT built here."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Before transformers/datasets are imported anywhere: never touch the network.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["DVC_NO_ANALYTICS"] = "1"

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import build_tiny_bert, make_rows, write_csv  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "labeled_data.csv", make_rows())
