"""What `make run` is about to do, checked before DVC starts: data, model, device and expected duration.

    python -m hatespeech.workflow.preflight                                      # params.yaml as it is
    python -m hatespeech.workflow.preflight --profile profiles/seed-bert-base.yaml

A source or model that cannot be had (a missing file, a Hub id while the Hub is unreachable) stops here
with one line and exit status 2, in seconds, instead of after the stages before it have run.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hatespeech import LABEL, TEXT, PipelineError
from hatespeech.cli import run_stage
from hatespeech.config import BaseConfig, load_params
from hatespeech.data.augment import AugmentConfig
from hatespeech.data.dialect import DialectModel, dialect_groups
from hatespeech.data.fairness import COUNTERFACTUAL, OFFENSIVE, FairnessConfig
from hatespeech.data.sources import SHIPPED_DATA, DownloadConfig, check_hub_reachable, is_file_source, load_csv
from hatespeech.data.splitting import SplitConfig
from hatespeech.data.text import Normalizer
from hatespeech.model.loading import ModelConfig, ModelError, check_checkpoint
from hatespeech.model.precision import training_precision
from hatespeech.model.training import TrainConfig
from hatespeech.threads import choose_threads
from hatespeech.workflow.overrides import apply_profile, read_profile

# The other stages' minutes beside training, by training precision, as clean-clone `make run`s on 2-core CPUs measured
# them (docs/performance.md, "What the estimate uses"): with bf16 hardware (Zen 4) 143 s, without (Zen 3, fp32) 199 s.
OTHER_STAGES_MINUTES = {"bf16": 2.4, "fp32": 3.3}
HUB_DATASET_ROWS = 24_783  # tdavidson/hate_speech_offensive, all rows
DIALECT_MODEL = "data/twitteraae"  # as dvc.yaml passes it to augment (--dialect-model)
MEASURED_STEPS = 16  # training steps the estimate times, after running the same batches once to warm up
MIN_MEASURED_STEPS = 4  # a short run times a quarter of its steps, at least these: the estimate costs less than it
SAMPLE_ROWS = 2000  # tweets whose token counts stand for the training data's


@dataclass(frozen=True)
class Plan:
    data: str
    model: str
    device: str
    frame: pd.DataFrame | None  # the rows the run will read, where they are local (not from the Hub)
    checkpoint: str
    on_gpu: bool

    def lines(self) -> list[str]:
        return [f"data:   {self.data}", f"model:  {self.model}", f"device: {self.device}"]


def _hub_model_available(model_id: str) -> bool:
    """True when the Hub model's config is in the local cache, so loading it needs no network."""
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(model_id, "config.json"), str)


def check_model(checkpoint: str) -> str:
    """Where the model will be loaded from; a Hub id that is neither cached nor reachable is a :class:`ModelError`."""
    resolved = check_checkpoint(checkpoint)
    if os.path.isdir(resolved) or _hub_model_available(resolved):
        return resolved
    try:
        check_hub_reachable()
    except PipelineError as exc:
        raise ModelError(f"model.checkpoint '{checkpoint}' is a Hub model id, and {exc}") from exc
    return f"{resolved} (Hugging Face Hub)"


def describe_device(params: dict[str, Any]) -> tuple[str, bool]:
    import torch

    if torch.cuda.is_available():
        return f"CUDA, {torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}", True
    choice = choose_threads(TrainConfig.of(params).threads)
    return f"CPU, {choice.threads} training thread(s) ({choice.reason}); no GPU", False


def expected_train_rows(frame: pd.DataFrame, params: dict[str, Any]) -> int:
    """The rows the train stage will see: the train split's tweets and what augment adds to them (template
    sentences, disguised copies at most, counterfactual rows from the TwitterAAE groups as the mitigation picks)."""
    split, augment, fairness = SplitConfig.of(params), AugmentConfig.of(params), FairnessConfig.of(params)
    train_share = 1 - split.validation_size - split.test_size
    tweets = round(len(frame) * train_share)
    templates = round(augment.template_share * tweets)
    disguised = round(augment.disguise_share * (tweets + templates))  # rows without a word to disguise are skipped
    counterfactual = 0
    if fairness.active and fairness.method == COUNTERFACTUAL:
        proportions = DialectModel.load(DIALECT_MODEL).proportions(frame[TEXT].tolist())
        groups = dialect_groups(proportions, fairness.group_threshold)
        eligible = (groups == "aae") & (frame[LABEL].to_numpy() == OFFENSIVE)
        counterfactual = round(fairness.strength * eligible.mean() * tweets)
    return tweets + templates + disguised + counterfactual


def measured_steps(steps: int) -> int:
    """Steps to time for a run of ``steps``: :data:`MEASURED_STEPS`, or a quarter of a short run's (at least
    :data:`MIN_MEASURED_STEPS`), so that the estimate never trains for longer than the run it estimates."""
    return min(MEASURED_STEPS, max(MIN_MEASURED_STEPS, steps // 4))


def estimate_training(frame: pd.DataFrame, checkpoint: str, params: dict[str, Any]) -> tuple[float, str]:
    """Seconds the train stage should take here: :func:`measured_steps` real steps timed on this machine
    (:mod:`hatespeech.workflow.step_time`), scaled to the run's steps and tokens, plus its evaluations."""
    import math
    import tempfile

    from transformers.utils import logging as transformers_logging

    from hatespeech.model.loading import load_tokenizer
    from hatespeech.model.tokenization import TokenizeConfig
    from hatespeech.threads import set_torch_threads
    from hatespeech.workflow.step_time import labelled, measure_step_cost

    config, split = TrainConfig.of(params), SplitConfig.of(params)
    set_torch_threads(config.threads)
    max_length = TokenizeConfig.of(params).max_length
    sample = frame.sample(min(SAMPLE_ROWS, len(frame)), random_state=0)
    texts = Normalizer.of(params).apply(sample[TEXT])
    tokenizer = load_tokenizer(checkpoint)
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]]
    mean_tokens = float(np.mean(lengths))
    rows = expected_train_rows(frame, params)
    steps = math.ceil(config.epochs * math.ceil(rows / config.batch_size))
    measured = measured_steps(steps)
    timed = measured * config.batch_size
    repeats = -(-timed // len(texts))  # a small data set is cycled: the steps' cost is what is measured
    data = labelled((texts * repeats)[:timed], (sample[LABEL].tolist() * repeats)[:timed], tokenizer, max_length)
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()  # the new head's load report and bars are the train stage's to show
    transformers_logging.disable_progress_bar()
    try:
        with tempfile.TemporaryDirectory(prefix="hatespeech-preflight-") as workdir:
            cost = measure_step_cost(data, checkpoint, config, Path(workdir), BaseConfig.of(params).seed)
    finally:
        transformers_logging.set_verbosity(verbosity)
        transformers_logging.enable_progress_bar()
    validation = len(frame) * split.validation_size * math.ceil(config.epochs)  # one evaluation per (part) epoch
    seconds = (
        cost.train_seconds(steps, steps * config.batch_size * mean_tokens)
        + cost.forward_seconds(validation * mean_tokens)
        + 2 * cost.load_seconds  # the model, loaded; the trained model, saved
    )
    basis = f"{steps:,} steps of {config.batch_size} over {rows:,} rows, {mean_tokens:.0f} tokens a tweet"
    return seconds, f"{basis}; from {measured} steps run here"


def estimate_duration(frame: pd.DataFrame | None, checkpoint: str, params: dict[str, Any], on_gpu: bool) -> str:
    if on_gpu:
        return "no GPU figure measured here (expect minutes)"
    if frame is None:
        return "not measured: the data comes from the Hub (see docs/performance.md for measured runs)"
    seconds, basis = estimate_training(frame, checkpoint, params)
    other = OTHER_STAGES_MINUTES[training_precision(TrainConfig.of(params).mixed_precision)]
    return (
        f"about {seconds / 60:.1f} min of training ({basis}), plus about "
        f"{other:g} min for the other stages (as measured on a 2-core CPU training in that precision)"
    )


def make_plan(params: dict[str, Any]) -> Plan:
    """Check the run's data source and model, and describe the run; a PipelineError when either is unavailable."""
    download = DownloadConfig.of(params)
    source, frame = download.source, None
    if is_file_source(source):
        frame = load_csv(source).frame  # seconds; a malformed file fails here, before any stage runs
        rows = len(frame)
        data = f"{source} ({rows:,} rows{', shipped with the repository' if source == SHIPPED_DATA else ''})"
        if download.max_rows and download.max_rows < rows:
            frame = frame.sample(download.max_rows, random_state=0)
    else:
        check_hub_reachable()
        rows = HUB_DATASET_ROWS
        data = f"{source} (Hugging Face Hub, {rows:,} rows)"
    checkpoint = ModelConfig.of(params).checkpoint
    model = check_model(checkpoint)
    if model != checkpoint:
        model = f"{checkpoint} -> {model}"
    device, on_gpu = describe_device(params)
    return Plan(data, model, device, frame, checkpoint, on_gpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--profile", help="a YAML file of parameter overrides (as `make run PROFILE=...` applies)")
    args = parser.parse_args()
    params = load_params(args.params)
    if args.profile:
        params = apply_profile(params, read_profile(args.profile))
    plan = make_plan(params)
    print("make run:", "dvc exp run with " + args.profile if args.profile else "dvc repro with params.yaml")
    print("\n".join(f"  {line}" for line in plan.lines()), flush=True)
    print(f"  time:   {estimate_duration(plan.frame, plan.checkpoint, params, plan.on_gpu)}", flush=True)


if __name__ == "__main__":
    run_stage("preflight", main, log_duration=False)
