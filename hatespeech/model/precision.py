"""The arithmetic a model runs in: one probe of the CPU's bf16 hardware, and the two settings that use it.

Training resolves ``train.mixed_precision`` (auto | bf16 | fp16 | fp32) with :func:`training_precision`;
serving resolves the Classifier's ``precision`` (fp32 | bf16, or $HATESPEECH_PRECISION) with
:func:`serving_precision`. Why bf16 only pays off with hardware support: docs/performance.md.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from hatespeech import PipelineError

log = logging.getLogger(__name__)

TRAINING_PRECISIONS = ("auto", "bf16", "fp16", "fp32", "no")  # "no" is fp32's older spelling
SERVING_PRECISIONS = ("fp32", "bf16")
SERVING_PRECISION_ENV = "HATESPEECH_PRECISION"


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (AVX512-BF16 or AMX). Without it, bf16 autocast is emulated
    and many times slower than fp32."""
    import torch

    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # torch.cpu's own CPUID checks
    if all(hasattr(torch.cpu, name) for name in probes):
        return any(getattr(torch.cpu, name)() for name in probes)
    try:  # older torch: the kernel's CPU flags (Linux)
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def training_precision(mode: str) -> str:
    """``train.mixed_precision`` -> what this machine trains in: bf16, fp16 or fp32."""
    import torch

    cuda = torch.cuda.is_available()
    if mode == "auto":
        if cuda:
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "bf16" if cpu_has_native_bf16() else "fp32"
    if mode == "no":
        return "fp32"
    if mode == "fp16" and not cuda:
        raise PipelineError("train.mixed_precision fp16 needs a CUDA GPU: use auto, bf16 or fp32 on a CPU")
    if mode == "bf16" and not cuda and not cpu_has_native_bf16():
        log.warning("bf16 on a CPU without AVX512-BF16 or AMX is emulated: expect training many times slower")
    return mode


def trainer_precision_args(mode: str) -> dict[str, Any]:
    """The TrainingArguments that make the Trainer run in :func:`training_precision`'s choice."""
    import torch

    precision = training_precision(mode)
    log.info("training precision: %s (train.mixed_precision %s)", precision, mode)
    if precision == "fp32":
        return {}
    # The Trainer takes bf16 without a GPU only when told the run is on the CPU.
    return {precision: True} if torch.cuda.is_available() else {precision: True, "use_cpu": True}


def serving_precision(precision: str | None) -> str:
    """``precision``, else $HATESPEECH_PRECISION, else fp32; an unknown name is a clear error."""
    name = precision or os.environ.get(SERVING_PRECISION_ENV) or "fp32"
    if name not in SERVING_PRECISIONS:
        raise PipelineError(f"unknown precision '{name}': choose one of {', '.join(SERVING_PRECISIONS)}")
    return name
