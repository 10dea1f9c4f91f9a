"""Resuming a killed training run: checkpoints kept across runs, matched to the run by a fingerprint."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Checkpoints live outside DVC's outputs (DVC deletes a stage's outputs before running it), so a killed run
# leaves them behind. They are reused only by a run whose fingerprint (data, model, seed, params) matches,
# and only once complete: the marker is written after the Trainer has finished saving.
FINGERPRINT_FILE = "fingerprint.json"
COMPLETE_MARKER = "checkpoint-complete"


def remove_checkpoints(checkpoint_dir: str | Path, keep: bool = False) -> None:
    """After a completed run: checkpoints are never DVC outputs, and kept only with train.keep_checkpoints."""
    if not keep:
        shutil.rmtree(checkpoint_dir, ignore_errors=True)


def checkpoint_callbacks(every: int) -> list[Any]:
    from transformers import TrainerCallback

    class PeriodicCheckpoint(TrainerCallback):
        """Checkpoint every ``every`` steps as well as at each epoch end (where evaluation happens)."""

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            if every and state.global_step % every == 0:
                control.should_save = True
            return control

    class MarkComplete(TrainerCallback):
        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.is_world_process_zero:
                saved = Path(args.output_dir) / f"checkpoint-{state.global_step}"
                if saved.is_dir():
                    (saved / COMPLETE_MARKER).write_text("ok\n", encoding="utf-8")

    return [PeriodicCheckpoint(), MarkComplete()]


def latest_checkpoint(checkpoint_dir: Path) -> Path | None:
    """The most advanced complete checkpoint in ``checkpoint_dir``; half-written ones are skipped."""
    complete = [
        path
        for path in checkpoint_dir.glob("checkpoint-*")
        if path.name.removeprefix("checkpoint-").isdigit() and (path / COMPLETE_MARKER).is_file()
    ]
    return max(complete, key=lambda path: int(path.name.removeprefix("checkpoint-")), default=None)


def prepare_checkpoints(checkpoint_dir: Path, fingerprint: dict[str, Any] | None) -> Path | None:
    """Return the checkpoint to resume from, or empty ``checkpoint_dir`` for a fresh start.

    Without a fingerprint nothing is ever resumed; checkpoints from a run with another fingerprint are removed.
    """
    stored_file = checkpoint_dir / FINGERPRINT_FILE
    if fingerprint is not None and stored_file.is_file():
        try:
            stored = json.loads(stored_file.read_text(encoding="utf-8"))
        except ValueError:
            stored = None
        if stored == fingerprint:
            found = latest_checkpoint(checkpoint_dir)
            if found is not None:
                return found
        else:
            log.info("ignoring checkpoints in %s: they come from other data, model or parameters", checkpoint_dir)
    shutil.rmtree(checkpoint_dir, ignore_errors=True)
    checkpoint_dir.mkdir(parents=True)
    if fingerprint is not None:
        stored_file.write_text(json.dumps(fingerprint, sort_keys=True) + "\n", encoding="utf-8")
    return None
