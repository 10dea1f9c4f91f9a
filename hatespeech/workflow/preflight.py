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
from typing import Any

from hatespeech import PipelineError
from hatespeech.cli import run_stage
from hatespeech.config import load_params
from hatespeech.data.sources import SHIPPED_DATA, DownloadConfig, check_hub_reachable, is_file_source, load_csv
from hatespeech.data.splitting import SplitConfig
from hatespeech.model.loading import DEFAULT_CHECKPOINT, ModelConfig, ModelError, check_checkpoint
from hatespeech.model.training import TrainConfig
from hatespeech.threads import choose_threads
from hatespeech.workflow.overrides import apply_profile, read_profile

# The estimate's inputs: training samples/s by model.checkpoint on the reference machine (2 cores) and the
# minutes of every other stage, as measured (where and how: docs/performance.md, "What the estimate uses").
CPU_REFERENCE_CORES = 2
CPU_SAMPLES_PER_SECOND = {DEFAULT_CHECKPOINT: 37.4, "bert-base-uncased": 4.6}
OTHER_STAGES_MINUTES = 3
HUB_DATASET_ROWS = 24_783  # tdavidson/hate_speech_offensive, all rows


@dataclass(frozen=True)
class Plan:
    data: str
    model: str
    device: str
    estimate: str

    def lines(self) -> list[str]:
        return [
            f"data:   {self.data}",
            f"model:  {self.model}",
            f"device: {self.device}",
            f"time:   {self.estimate}",
        ]


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


def estimate_duration(checkpoint: str, rows: int, params: dict[str, Any], on_gpu: bool) -> str:
    split = SplitConfig.of(params)
    samples = rows * (1 - split.validation_size - split.test_size) * TrainConfig.of(params).epochs
    rate = CPU_SAMPLES_PER_SECOND.get(checkpoint)
    if on_gpu:
        return f"{samples:,.0f} training samples; no GPU figure measured here (expect minutes)"
    if rate is None:
        return f"{samples:,.0f} training samples; no CPU figure measured for this model"
    minutes = samples / rate / 60
    return (
        f"about {minutes:.0f} min of training ({samples:,.0f} samples at {rate} samples/s, measured on "
        f"a {CPU_REFERENCE_CORES}-core CPU), plus about {OTHER_STAGES_MINUTES} min for the other stages"
    )


def make_plan(params: dict[str, Any]) -> Plan:
    """Check the run's data source and model, and describe the run; a PipelineError when either is unavailable."""
    source = DownloadConfig.of(params).source
    if is_file_source(source):
        rows = len(load_csv(source).frame)  # seconds; a malformed file fails here, before any stage runs
        data = f"{source} ({rows:,} rows{', shipped with the repository' if source == SHIPPED_DATA else ''})"
    else:
        check_hub_reachable()
        rows = HUB_DATASET_ROWS
        data = f"{source} (Hugging Face Hub, {rows:,} rows)"
    checkpoint = ModelConfig.of(params).checkpoint
    model = check_model(checkpoint)
    if model != checkpoint:
        model = f"{checkpoint} -> {model}"
    device, on_gpu = describe_device(params)
    return Plan(data, model, device, estimate_duration(checkpoint, rows, params, on_gpu))


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


if __name__ == "__main__":
    run_stage("preflight", main, log_duration=False)
