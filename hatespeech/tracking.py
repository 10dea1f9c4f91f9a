"""DVCLive logging of training curves: one step per epoch."""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback

# Timing figures change from run to run; they stay out of the tracked curves.
_UNTRACKED = ("runtime", "samples_per_second", "steps_per_second")


class EpochCurves(TrainerCallback):
    """Log, at each evaluation, the mean training loss since the previous one and the validation metrics.

    The step is the epoch number, so ``dvc plots`` draws curves by epoch. Only the main process logs.
    """

    def __init__(self, live: Any) -> None:
        self.live = live
        self._losses: list[float] = []

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero or not logs:
            return
        if "loss" in logs:
            self._losses.append(float(logs["loss"]))
        if "eval_loss" not in logs:
            return
        self.live.step = int(round(state.epoch or 0))
        if self._losses:
            self.live.log_metric("train/loss", round(sum(self._losses) / len(self._losses), 6))
            self._losses.clear()
        for key, value in logs.items():
            if key.startswith("eval_") and not key.endswith(_UNTRACKED):
                self.live.log_metric(f"eval/{key.removeprefix('eval_')}", round(float(value), 6))
        self.live.sync()
