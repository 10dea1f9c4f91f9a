"""make run's preflight: the training time measured on this machine, from a few real steps, and the rows it
scales them to."""

from __future__ import annotations

import re
import sys

import pytest
from helpers import ROOT, make_project, run, set_params

from hatespeech import LABEL, TEXT
from hatespeech.config import load_params
from hatespeech.data.sources import load_csv
from hatespeech.model.training import TrainConfig
from hatespeech.testing import TINY_TRAIN, make_rows, write_csv
from hatespeech.workflow.preflight import expected_train_rows, measured_steps
from hatespeech.workflow.step_time import fit_step_cost, labelled, measure_step_cost


def test_the_fit_recovers_a_fixed_and_a_per_token_cost_and_falls_back_when_lengths_are_alike():
    tokens = [200, 400, 800, 1600, 3200]
    per_step, per_token = fit_step_cost(tokens, [0.05 + 1e-4 * t for t in tokens])
    assert per_step == pytest.approx(0.05) and per_token == pytest.approx(1e-4)
    alike = fit_step_cost([1000, 1010, 1005], [0.3, 0.2, 0.25])  # no spread of lengths to separate the two
    assert alike == (0.0, pytest.approx(0.75 / 3015))


def test_expected_rows_add_what_augment_adds_and_counterfactuals_only_from_the_dialect_groups(tmp_path):
    frame = load_csv(str(write_csv(tmp_path / "data.csv", make_rows(1000)))).frame
    params = load_params(ROOT / "params.yaml")
    params["fairness"] = {**params["fairness"], "method": "none"}
    plain = expected_train_rows(frame, params)
    tweets = round(len(frame) * 0.8)  # make_rows adds retweets beyond its n
    templates = round(params["augment"]["template_share"] * tweets)
    assert plain == tweets + templates + round(params["augment"]["disguise_share"] * (tweets + templates))
    params["fairness"] = {**params["fairness"], "method": "counterfactual", "strength": 1.0}
    assert plain < expected_train_rows(frame, params) <= plain + tweets  # the synthetic tweets have AAE-aligned ones


@pytest.mark.parametrize("passes", [1, 2])  # 2 (the preflight's): the batches once to warm up, then timed again
def test_a_few_real_steps_give_a_positive_cost(tmp_path, tiny_model, passes):
    from hatespeech.model.loading import load_tokenizer

    frame = load_csv(str(write_csv(tmp_path / "data.csv", make_rows(80)))).frame
    config = TrainConfig.from_params({**TINY_TRAIN, "checkpoint_steps": 0})
    data = labelled(frame[TEXT].tolist()[:64], frame[LABEL].tolist()[:64], load_tokenizer(str(tiny_model)), 64)
    cost = measure_step_cost(data, str(tiny_model), config, tmp_path / "work", seed=0, passes=passes)
    assert cost.per_token > 0 and cost.per_step >= 0 and cost.load_seconds > 0
    assert cost.train_seconds(100, 100 * 8 * 20) > cost.train_seconds(10, 10 * 8 * 20)
    assert not (tmp_path / "work").exists() or not any((tmp_path / "work").iterdir())  # no checkpoint written
    # Each pass runs the same batches in the same order (the warm-up pass has met every padded length timed).
    steps = len(cost.step_tokens) // passes
    assert steps == 64 // config.batch_size and len(set(cost.step_tokens)) > 1
    assert all(cost.step_tokens[i] == cost.step_tokens[i % steps] for i in range(len(cost.step_tokens)))


def test_the_estimate_times_at_most_a_quarter_of_a_short_run():
    assert [measured_steps(steps) for steps in (10, 30, 64, 100, 1500)] == [4, 7, 16, 16, 16]


@pytest.mark.slow  # a process that loads torch
def test_preflight_prints_a_time_measured_here(tmp_path, tiny_model):
    project = make_project(tmp_path / "p", str(write_csv(tmp_path / "data.csv", make_rows(300))), str(tiny_model))
    set_params(project, "fairness", method="counterfactual", strength=1.0)
    result = run([sys.executable, "-m", "hatespeech.workflow.preflight"], cwd=project)
    time_line = next(line for line in result.stdout.splitlines() if line.strip().startswith("time:"))
    assert "min of training" in time_line, result.stdout
    found = re.search(r"([\d,]+) steps of .*from (\d+) steps run here", time_line)
    steps, measured = int(found.group(1).replace(",", "")), int(found.group(2))
    assert measured == measured_steps(steps) < steps
    assert "min for the other stages (as measured on a 2-core CPU training in that precision)" in time_line
