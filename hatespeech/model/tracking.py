"""DVCLive training curves, one step per epoch, rebuilt from the Trainer's log history.

Writing them from ``trainer.state.log_history`` after training (rather than from a live callback) means a
run resumed from a checkpoint still gets the curves of the epochs before the interruption: the history
is part of every checkpoint.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from hatespeech.io import atomic_output
from hatespeech.metrics import rounded

# Timing figures change from run to run; they stay out of the tracked curves.
_UNTRACKED = ("runtime", "samples_per_second", "steps_per_second")


def log_epoch_curves(live: Any, log_history: list[dict[str, float]]) -> int:
    """Log, for each evaluation, the mean training loss since the previous one and the validation metrics.

    Returns the number of epochs logged.
    """
    losses: list[float] = []
    epochs = 0
    for entry in log_history:
        if "loss" in entry:
            losses.append(float(entry["loss"]))
        if "eval_loss" not in entry:
            continue
        live.step = int(round(entry.get("epoch") or 0))
        if losses:
            live.log_metric("train/loss", rounded(sum(losses) / len(losses)))
            losses.clear()
        for key, value in entry.items():
            if key.startswith("eval_") and not key.endswith(_UNTRACKED):
                live.log_metric(f"eval/{key.removeprefix('eval_')}", rounded(value))
        epochs += 1
    return epochs


def write_training_curves(live_dir: str, log_history: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    """A DVCLive directory (replaced whole) of the epoch curves in ``log_history``, with ``summary`` in its
    metrics.json (dataclass values as dicts)."""
    from dvclive import Live

    with atomic_output(live_dir, directory=True) as live_tmp:
        live = Live(str(live_tmp), dvcyaml=None, save_dvc_exp=False, report=None)
        log_epoch_curves(live, log_history)
        for key, value in summary.items():
            live.summary[key] = asdict(value) if hasattr(value, "__dataclass_fields__") else value
        live.end()
