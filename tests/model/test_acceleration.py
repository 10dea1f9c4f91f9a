"""The training levers (hatespeech/model/acceleration.py): their params, the token-budget batches, a compile
that fails falling back to an eager run, and the kept epoch's validation logits reused for the decision rule.
A real compile, for training and for inference, runs in the benchmarks' tests (tests/benchmarks/test_bench.py,
tests/model/test_export.py)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from helpers import tiny_tokenized, train_tiny

from hatespeech import PipelineError
from hatespeech.model.acceleration import TokenBudgetBatchSampler
from hatespeech.model.decision import RuleConfig, fit_decision_rule
from hatespeech.model.inference import Classifier, evaluate_split
from hatespeech.model.loading import load_classifier, load_tokenizer
from hatespeech.model.training import TrainConfig


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"attention": "flash"}, "train.attention must be one of"),
        ({"optimizer": "sgd"}, "train.optimizer must be one of"),
        ({"compile": "sometimes"}, "must be true or false"),
        ({"batch_tokens": 0}, "train.batch_tokens must be at least 1"),
        ({"batch_tokens": 512, "nproc": 2}, "train.batch_tokens works on one process"),
        ({"dropout": 1.0}, "train.dropout must be in"),
    ],
)
def test_bad_lever_is_a_clear_error(params, message):
    with pytest.raises(PipelineError, match=message):
        TrainConfig.from_params(params)


def test_token_budget_batches_cover_every_example_once_within_the_budget():
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 60, size=500).tolist() + [200]  # one example longer than the budget
    sampler = TokenBudgetBatchSampler(lengths, max_tokens=256, seed=7)
    epochs = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler)  # the Trainer plans its steps from len()
        assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
        for batch in batches:
            padded = len(batch) * max(lengths[i] for i in batch)
            assert padded <= 256 or len(batch) == 1
        epochs.append(batches)
    assert epochs[0] != epochs[1]  # a new order (and new neighbours among equal lengths) every epoch
    sampler.set_epoch(0)
    assert list(sampler) == epochs[0]  # seeded: the same epoch gives the same batches
    sizes = [len(batch) for batch in epochs[0]]
    assert max(sizes) > 4 * min(sizes)  # short tweets share a batch with many more than long ones


def test_dropout_lever_sets_the_checkpoints_dropout_or_leaves_it(tiny_model):
    default = load_classifier(str(tiny_model), new_head=True).config
    none = load_classifier(str(tiny_model), new_head=True, dropout=0.0).config
    assert default.hidden_dropout_prob > 0 and default.attention_probs_dropout_prob > 0
    assert none.hidden_dropout_prob == 0 and none.attention_probs_dropout_prob == 0


@pytest.fixture
def tiny_splits(csv_file, tiny_model):
    return tiny_tokenized(csv_file, tiny_model)


def test_token_budget_run_with_the_other_levers_switched(tiny_splits, tiny_model, tmp_path):
    """Eager attention, foreach AdamW and token-budget batches: a real Trainer run that learns. The decision
    rule it saves is the one fitted on the kept epoch's validation logits, as scoring the split again gives."""
    result, out = train_tiny(
        tiny_splits, tiny_model, tmp_path, attention="eager", optimizer="adamw_torch", batch_tokens=128
    )
    assert result.best_metric > 0.5
    labels, probabilities = evaluate_split(
        load_classifier(str(out)), load_tokenizer(str(out)), tiny_splits["validation"]
    )
    refitted = fit_decision_rule(probabilities, labels, RuleConfig())
    assert refitted.offsets == pytest.approx(result.decision_rule.offsets)
    assert refitted.after == pytest.approx(result.decision_rule.after, abs=1e-6)


@pytest.mark.slow  # TorchDynamo and Inductor imported and tracing: about 11 s, a fifth of the fast tier
def test_a_compile_that_fails_is_a_warning_and_an_eager_run(trained_model, monkeypatch, caplog):
    """compile_in_place (what `train.compile: true` and `Classifier(compile=True)` call) with a compiler that
    fails: TorchDynamo logs the error and the model runs eagerly, with eager's scores."""
    import torch._inductor.compile_fx

    def broken_compiler(*args, **kwargs):
        raise RuntimeError("no C++ compiler here")

    monkeypatch.setattr(torch._inductor.compile_fx, "compile_fx", broken_compiler)
    monkeypatch.setattr(torch._dynamo.config, "suppress_errors", False)  # restored after the test
    torch._dynamo.reset()
    texts = ["a first tweet", "and a second, longer one to pad the batch"]
    eager = Classifier(trained_model.model_dir, "torch").probabilities(texts)
    with caplog.at_level(logging.WARNING):
        compiled = Classifier(trained_model.model_dir, "torch", compile=True).probabilities(texts)
    torch._dynamo.reset()
    assert "no C++ compiler here" in caplog.text
    np.testing.assert_allclose(compiled, eager, atol=1e-6)
