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
from hatespeech.data.sources import SHIPPED_DATA, check_hub_reachable, is_file_source, load_csv
from hatespeech.io import load_params
from hatespeech.model.loading import DEFAULT_CHECKPOINT, ModelError, check_checkpoint
from hatespeech.threads import choose_threads
from hatespeech.workflow.overrides import apply_profile, read_profile

# Training throughput on the reference machine (2-core AMD EPYC VM, torch 2.13.0 CPU, batch 16), samples per
# second by model.checkpoint: the default's is the whole train stage of the reference runs (per-epoch
# validation and checkpoints included): 67,414 samples in 1,801 s at batch 16, 25,232 in 676 s (37.3/s) at
# batch 32 (the default since issue #17); bert-base's is the benchmark harness's
# rate for training steps alone (docs/performance.md), so its estimate is a lower bound.
CPU_REFERENCE_CORES = 2
CPU_SAMPLES_PER_SECOND = {DEFAULT_CHECKPOINT: 37.4, "bert-base-uncased": 4.6}
OTHER_STAGES_MINUTES = 3  # everything but train in the reference run: 2.4 min (146 s), DVC's own time included
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
    choice = choose_threads(params["train"].get("threads"))
    return f"CPU, {choice.threads} training thread(s) ({choice.reason}); no GPU", False


def estimate_duration(checkpoint: str, rows: int, params: dict[str, Any], on_gpu: bool) -> str:
    train_rows = rows * (1 - float(params["split"]["validation_size"]) - float(params["split"]["test_size"]))
    samples = train_rows * float(params["train"]["epochs"])
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
    source = str(params["download"]["source"])
    if is_file_source(source):
        rows = len(load_csv(source).frame)  # seconds; a malformed file fails here, before any stage runs
        data = f"{source} ({rows:,} rows{', shipped with the repository' if source == SHIPPED_DATA else ''})"
    else:
        check_hub_reachable()
        rows = HUB_DATASET_ROWS
        data = f"{source} (Hugging Face Hub, {rows:,} rows)"
    checkpoint = str(params["model"]["checkpoint"])
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
