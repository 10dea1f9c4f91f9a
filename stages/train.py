"""train: fine-tune model.checkpoint with the Trainer; keep the best epoch; fit the decision rule
on validation; log curves with DVCLive. A killed run resumes from its last checkpoint when rerun.

With train.nproc > 1 the stage re-launches itself under torchrun (or accelerate launch); only the main
process writes the outputs.
"""

import argparse
import logging
import os
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from hatespeech.cli import run_stage
from hatespeech.config import BaseConfig, load_params
from hatespeech.data.text import Normalizer
from hatespeech.io import atomic_output, sha256_tree, write_json
from hatespeech.model.checkpoints import prepare_checkpoints, remove_checkpoints
from hatespeech.model.decision import RuleConfig
from hatespeech.model.distributed import is_launched, is_main_process, relaunch
from hatespeech.model.loading import ModelConfig
from hatespeech.model.tokenization import TokenizeConfig, load_tokenized
from hatespeech.model.tracking import write_training_curves
from hatespeech.model.training import TrainConfig, TrainResult, train_classifier
from hatespeech.paths import METADATA_FILE
from hatespeech.threads import set_torch_threads

log = logging.getLogger("hatespeech")
RESUME_ENV = "HATESPEECH_RESUME_FROM"  # the launcher's parent process picks the checkpoint for all ranks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True, help="tokenized splits from the tokenize stage")
    parser.add_argument("--model-dir", required=True, help="where the trained model, tokenizer and decision rule go")
    parser.add_argument("--live-dir", required=True, help="DVCLive directory for the training curves")
    parser.add_argument("--checkpoint-dir", required=True, help="the Trainer's checkpoints, kept across a killed run")
    args = parser.parse_args()
    params = load_params()
    config, rule_config = TrainConfig.of(params), RuleConfig.of(params)
    checkpoint, seed = ModelConfig.of(params).checkpoint, BaseConfig.of(params).seed
    max_length = TokenizeConfig.of(params).max_length  # what the data was truncated at: the model records it
    # What a checkpoint must match to be resumed from, and what the model was trained on.
    metadata = {
        "checkpoint": checkpoint,
        "data_sha256": sha256_tree(args.data),
        "seed": seed,
        "params": {"train": asdict(config), "decision_rule": asdict(rule_config)},
    }

    if is_launched():
        resume_from = Path(os.environ[RESUME_ENV]) if os.environ.get(RESUME_ENV) else None
    else:
        resume_from = prepare_checkpoints(Path(args.checkpoint_dir), metadata)
        if config.nproc > 1:
            run_launched(config, resume_from, args.checkpoint_dir)
            return

    set_torch_threads(config.threads)
    tokenized = load_tokenized(args.data)

    def train(model_out: Path) -> TrainResult:
        return train_classifier(
            tokenized["train"],
            tokenized["validation"],
            checkpoint,
            config,
            model_out=model_out,
            checkpoint_dir=Path(args.checkpoint_dir),
            seed=seed,
            rule_config=rule_config,
            resume_from=resume_from,
            max_length=max_length,
        )

    if not is_main_process():
        with tempfile.TemporaryDirectory() as scratch:  # other ranks train along but write no outputs
            train(Path(scratch))
        return
    with atomic_output(args.model_dir, directory=True) as model_tmp:
        result = train(model_tmp)
        write_json(model_tmp / METADATA_FILE, metadata)
        Normalizer.load(args.data).save(model_tmp)  # the clean-up the data was tokenized with: served texts get it too
    record(result, config, args.live_dir)
    if not is_launched():
        remove_checkpoints(args.checkpoint_dir, config.keep_checkpoints)


def run_launched(config: TrainConfig, resume_from: Path | None, checkpoint_dir: str) -> None:
    """This stage again as ``config.nproc`` processes under ``config.launcher``, all resuming from ``resume_from``
    (the parent picks it, so every rank agrees); a failed launch fails the stage with its exit status."""
    status = relaunch(config.launcher, config.nproc, sys.argv[0], sys.argv[1:], {RESUME_ENV: str(resume_from or "")})
    if status:
        sys.exit(status)
    remove_checkpoints(checkpoint_dir, config.keep_checkpoints)


def record(result: TrainResult, config: TrainConfig, live_dir: str) -> None:
    """The training curves and the kept epoch (DVCLive), and a line of the run's outcome in the log."""
    write_training_curves(
        live_dir,
        result.log_history,
        {
            "best_epoch": result.best_epoch,
            f"best_{config.metric_for_best_model}": result.best_metric,
            "decision_rule": result.decision_rule,
        },
    )
    log.info(
        "kept epoch %s of %.2f (validation %s %.4f); %.1f training samples/s%s",
        result.best_epoch,
        result.epochs_run,
        config.metric_for_best_model,
        result.best_metric or 0.0,
        result.train_samples_per_second,
        f"; resumed from {result.resumed_from}" if result.resumed_from else "",
    )


if __name__ == "__main__":
    run_stage("train", main)
