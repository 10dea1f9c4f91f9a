"""The train stage as several processes: torchrun or ``accelerate launch``, one node or many.

``dvc.yaml`` keeps one command. With ``train.nproc > 1`` that command re-launches itself under the launcher
named by ``train.launcher``; the launched processes see ``LOCAL_RANK`` and train with DistributedDataParallel.
Multi-node settings come from the launchers' own environment variables (torchrun reads ``PET_NNODES``,
``PET_NODE_RANK``, ``PET_RDZV_ENDPOINT`` ...), so nothing about a cluster is baked into the pipeline.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from typing import Literal, get_args

log = logging.getLogger(__name__)

Launcher = Literal["torchrun", "accelerate"]
LAUNCHERS: tuple[str, ...] = get_args(Launcher)


LAUNCHED_ENV = "HATESPEECH_LAUNCHED"  # set for the launched processes, so none of them launches again


def is_launched() -> bool:
    """True inside a process started by torchrun / accelerate launch (or by :func:`launch_command`'s caller).

    The marker matters: without GPUs, ``accelerate launch`` may start a plain single process with no
    ``LOCAL_RANK``, which would otherwise re-launch itself for ever.
    """
    return "LOCAL_RANK" in os.environ or os.environ.get(LAUNCHED_ENV) == "1"


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """Global rank 0: the only process that writes the stage's outputs."""
    return int(os.environ.get("RANK", "0")) == 0


def launch_command(launcher: str, nproc: int, script: str, argv: list[str]) -> list[str]:
    """The command that runs ``script argv`` as ``nproc`` processes on this node."""
    if launcher == "torchrun":
        return [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}", script, *argv]
    if launcher == "accelerate":
        # --multi_gpu selects accelerate's DDP launcher (torchrun underneath); it also runs on CPUs with gloo.
        return [
            sys.executable,
            "-m",
            "accelerate.commands.launch",
            "--multi_gpu",
            "--num_processes",
            str(nproc),
            script,
            *argv,
        ]
    raise ValueError(f"unknown launcher {launcher!r}; known: {', '.join(LAUNCHERS)}")


def relaunch(launcher: str, nproc: int, script: str, argv: list[str], env: dict[str, str]) -> int:
    """Run ``script argv`` as ``nproc`` launched processes (marked as launched, plus ``env``); their exit status."""
    command = launch_command(launcher, nproc, script, argv)
    log.info("launching %d processes: %s", nproc, " ".join(command))
    return subprocess.call(command, env={**os.environ, **env, LAUNCHED_ENV: "1"})
