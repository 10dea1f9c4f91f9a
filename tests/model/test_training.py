"""train: parameters, class weights, the weighted loss, and a real (tiny) Trainer run."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from helpers import tiny_tokenized, train_tiny

from hatespeech import PipelineError
from hatespeech.model.losses import class_weights, classification_loss, with_sample_weights, with_soft_labels
from hatespeech.model.precision import training_precision
from hatespeech.model.training import TrainConfig


def test_config_coerces_yaml_1_1_strings():
    config = TrainConfig.from_params({"learning_rate": "8e-05", "batch_size": 32.0, "epochs": "2"})
    assert config.learning_rate == pytest.approx(8e-5) and config.batch_size == 32 and config.epochs == 2.0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"learning_rte": 1e-5}, "unknown train parameter(s): learning_rte"),
        ({"class_weights": "inverse"}, "train.class_weights must be one of"),
        ({"metric_for_best_model": "loss"}, "train.metric_for_best_model must be one of"),
        ({"batch_size": 0}, "train.batch_size must be positive"),
        ({"batch_size": 2.5}, "must be a whole number"),
        ({"group_by_length": "yes"}, "must be true or false"),
        ({"learning_rate": "fast"}, "bad train parameter"),
        ({"focal_gamma": -1}, "train.focal_gamma must be 0"),
        ({"label_smoothing": 1.0}, "train.label_smoothing must be in [0, 1)"),
        ({"mixed_precision": "int8"}, "train.mixed_precision must be one of"),
    ],
)
def test_bad_config_is_a_clear_error(params, message):
    with pytest.raises(PipelineError) as error:
        TrainConfig.from_params(params)
    assert message in str(error.value)


def test_class_weights():
    labels = np.array([0] * 10 + [1] * 60 + [2] * 30)
    assert class_weights(labels, "none") is None
    balanced = class_weights(labels, "balanced")
    assert balanced.tolist() == pytest.approx([100 / 30, 100 / 180, 100 / 90])
    assert class_weights(labels, "sqrt").tolist() == pytest.approx(np.sqrt(balanced.numpy()).tolist())
    with pytest.raises(PipelineError, match="hate_speech"):
        class_weights(np.array([1, 2, 2]), "balanced")


def test_weighted_loss_matches_cross_entropy():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-1.0, 3.0, 0.0]])
    labels = torch.tensor([0, 2, 1])
    outputs = {"logits": logits}
    plain = classification_loss(torch.ones(3))(outputs, labels)
    assert plain.item() == pytest.approx(torch.nn.functional.cross_entropy(logits, labels).item(), rel=1e-6)
    weights = torch.tensor([5.0, 1.0, 1.0])
    weighted = classification_loss(weights)(outputs, labels, num_items_in_batch=3)
    expected = (torch.nn.functional.cross_entropy(logits, labels, reduction="none") * weights[labels]).sum() / 3
    assert weighted.item() == pytest.approx(expected.item(), rel=1e-6)
    assert weighted.item() > plain.item()  # the first, up-weighted example has a real loss


def test_focal_loss_and_label_smoothing_follow_their_definitions():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-1.0, 3.0, 0.0]])
    labels = torch.tensor([0, 2, 1])
    outputs = {"logits": logits}
    log_p = torch.log_softmax(logits, dim=-1)[torch.arange(3), labels]
    focal = classification_loss(None, focal_gamma=2.0)(outputs, labels).item()
    assert focal == pytest.approx((-((1 - log_p.exp()) ** 2) * log_p).mean().item(), rel=1e-6)
    plain = classification_loss(None)(outputs, labels).item()
    assert focal < plain  # every term shrinks; the confident, right ones most
    assert classification_loss(None, focal_gamma=0.0)(outputs, labels).item() == plain
    smoothed = classification_loss(None, label_smoothing=0.1)(outputs, labels).item()
    expected = torch.nn.functional.cross_entropy(logits, labels, label_smoothing=0.1).item()
    assert smoothed == pytest.approx(expected, rel=1e-6)
    weights = torch.tensor([3.0, 1.0, 1.0])
    weighted_focal = classification_loss(weights, focal_gamma=2.0)(outputs, labels, num_items_in_batch=3).item()
    assert weighted_focal == pytest.approx((-((1 - log_p.exp()) ** 2) * log_p * weights[labels]).sum().item() / 3)


def test_precision_is_fp32_on_a_cpu_without_bf16(monkeypatch):
    import hatespeech.model.precision as precision

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    assert [training_precision(mode) for mode in ("auto", "fp32", "no", "bf16")] == ["fp32", "fp32", "fp32", "bf16"]
    with pytest.raises(PipelineError, match="fp16 needs a CUDA GPU"):
        training_precision("fp16")
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)  # AVX512-BF16 or AMX
    assert training_precision("auto") == "bf16"


def test_tiny_training_run_learns_and_saves_safetensors(csv_file, tiny_model, tmp_path):
    result, out = train_tiny(tiny_tokenized(csv_file, tiny_model), tiny_model, tmp_path, class_weights="balanced")

    assert result.best_epoch in {1.0, 2.0, 3.0, 4.0}
    assert result.best_metric > 0.5  # validation macro F1; always predicting the majority class gives ~0.24
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    assert not list(out.glob("*.bin"))  # no pickles shipped
    config_json = json.loads((out / "config.json").read_text())
    assert config_json["id2label"] == {"0": "hate_speech", "1": "offensive_language", "2": "neither"}
    assert json.loads((out / "training_args.json").read_text())["train_sampling_strategy"] == "group_by_length"


@pytest.mark.slow  # a Trainer run (the fast tier keeps one: the tiny run above)
def test_focal_bf16_training_run(csv_file, tiny_model, tmp_path):
    """bf16 autocast on the CPU (emulated here unless the CPU has AVX512-BF16/AMX) with the focal loss trains."""
    tokenized = tiny_tokenized(csv_file, tiny_model)
    result, out = train_tiny(
        tokenized, tiny_model, tmp_path, mixed_precision="bf16", focal_gamma=2.0, label_smoothing=0.05
    )
    assert result.best_metric > 0.5
    args = json.loads((out / "training_args.json").read_text())
    assert args["bf16"] is True and args["fp16"] is False


def test_soft_label_loss_is_cross_entropy_against_vote_shares():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
    shares = torch.tensor([[2 / 3, 1 / 3, 0.0], [0.0, 0.0, 1.0]])
    expected = -(shares * torch.log_softmax(logits, dim=-1)).sum(dim=-1).mean()
    # The Trainer counts one item per label entry: 2 examples x 3 classes.
    assert classification_loss(None)({"logits": logits}, shares, num_items_in_batch=6).item() == pytest.approx(
        expected.item()
    )
    one_hot = torch.nn.functional.one_hot(torch.tensor([0, 2]), 3).float()
    hard = classification_loss(None)({"logits": logits}, torch.tensor([0, 2])).item()
    assert classification_loss(None)({"logits": logits}, one_hot, num_items_in_batch=6).item() == pytest.approx(hard)


def test_sample_weights_scale_each_rows_loss():
    from datasets import Dataset

    rows = with_sample_weights(Dataset.from_dict({"label": [0, 2, 1], "weight": [2.0, 0.0, 1.0]}))
    assert rows.column_names == ["label"] and rows["label"] == [[2, 0, 0], [0, 0, 0], [0, 1, 0]]
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [0.3, -0.2, 0.9]])
    loss = classification_loss(None)({"logits": logits}, torch.tensor(rows["label"]), num_items_in_batch=9).item()
    each = torch.nn.functional.cross_entropy(logits, torch.tensor([0, 2, 1]), reduction="none")
    assert loss == pytest.approx(((2 * each[0] + each[2]) / 3).item())  # the weight-0 row adds nothing
    smoothed = classification_loss(None, label_smoothing=0.1)
    plain = smoothed({"logits": logits[:1]}, torch.tensor([0])).item()
    assert smoothed({"logits": logits[:1]}, torch.tensor([[2.0, 0, 0]]), num_items_in_batch=3).item() == pytest.approx(
        2 * plain
    )  # smoothing spreads the row's own mass; the weight stays its factor
    soft = with_sample_weights(Dataset.from_dict({"label": [[0.5, 0.5, 0.0]], "weight": [3.0]}))
    assert soft["label"] == [[1.5, 1.5, 0.0]]
    unweighted = Dataset.from_dict({"label": [0, 1]})
    assert with_sample_weights(unweighted) is unweighted


@pytest.mark.slow  # a Trainer run (the fast tier keeps one: the tiny run above)
def test_training_on_soft_labels(csv_file, tiny_model, tmp_path):
    from datasets import Dataset

    votes = Dataset.from_dict(
        {
            "label": [0, 1, 2],
            "hate_speech_count": [2, 0, 0],
            "offensive_language_count": [1, 3, 0],
            "neither_count": [0, 0, 0],
        }
    )
    assert with_soft_labels(votes)["label"] == [
        pytest.approx([2 / 3, 1 / 3, 0]),
        [0, 1, 0],
        [0, 0, 1],
    ]  # no votes: hard label
    with pytest.raises(PipelineError, match="soft_labels needs the vote counts"):
        with_soft_labels(votes.remove_columns("neither_count"))

    tokenized = tiny_tokenized(csv_file, tiny_model)
    result, out = train_tiny(tokenized, tiny_model, tmp_path, soft_labels=True, class_weights="sqrt")
    assert result.best_metric > 0.5  # validation (hard labels) macro F1
    assert result.decision_rule.fitted_on == "validation" and result.decision_rule.examples == len(
        tokenized["validation"]
    )
    assert json.loads((out / "decision_rule.json").read_text())["examples"] == len(tokenized["validation"])


@pytest.mark.slow  # a Trainer run (the fast tier keeps one: the tiny run above)
def test_training_with_sample_weights_from_the_augmented_split(csv_file, tiny_model, tmp_path):
    """A weight column in the train split (a fairness mitigation's) rides through tokenize into a real run."""
    from hatespeech.data.sources import load_source
    from hatespeech.data.splitting import split_dataset
    from hatespeech.model.tokenization import tokenize_splits

    splits = split_dataset(load_source(str(csv_file)).frame, 0.1, 0.1, seed=0)
    splits["train"] = splits["train"].assign(weight=np.where(np.arange(len(splits["train"])) % 2, 0.5, 1.5))
    tokenized = tokenize_splits(splits, str(tiny_model), max_length=32)[0]
    assert tokenized["train"]["weight"][:2] == [1.5, 0.5] and "weight" not in tokenized["validation"].column_names
    result, out = train_tiny(tokenized, tiny_model, tmp_path)
    assert result.best_metric > 0.5 and (out / "model.safetensors").is_file()
