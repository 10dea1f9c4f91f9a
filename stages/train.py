"""Stage 4, train: fine-tune model.checkpoint with the Trainer; keep the best epoch; fit the decision rule
on validation; log curves with DVCLive. A killed run resumes from its last checkpoint when rerun.

With train.nproc > 1 the stage re-launches itself under torchrun (or accelerate launch); only the main
process writes the outputs.
"""

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from hatespeech.cli import run_stage
from hatespeech.decision import RuleConfig
from hatespeech.distributed import LAUNCHED_ENV, is_launched, is_main_process, launch_command
from hatespeech.files import atomic_output, load_params, sha256_tree, write_json
from hatespeech.tokenization import load_tokenized
from hatespeech.training import TrainConfig, TrainResult, prepare_checkpoints, train_classifier

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
    config = TrainConfig.from_params(params["train"])
    rule_config = RuleConfig.from_params(params.get("decision_rule") or {})
    checkpoint, seed = params["model"]["checkpoint"], int(params["base"]["seed"])
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
            command = launch_command(config.launcher, config.nproc, sys.argv[0], sys.argv[1:])
            log.info("launching %d processes: %s", config.nproc, " ".join(command))
            env = {**os.environ, RESUME_ENV: str(resume_from or ""), LAUNCHED_ENV: "1"}
            status = subprocess.call(command, env=env)
            if status:
                sys.exit(status)
            _remove_checkpoints(args.checkpoint_dir, config)
            return

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
        )

    if not is_main_process():
        with tempfile.TemporaryDirectory() as scratch:  # other ranks train along but write no outputs
            train(Path(scratch))
        return
    with atomic_output(args.model_dir, directory=True) as model_tmp:
        result = train(model_tmp)
        write_json(model_tmp / "training_metadata.json", metadata)
    write_curves(args.live_dir, result, config)
    log.info(
        "kept epoch %s of %.2f (validation %s %.4f); %.1f training samples/s%s",
        result.best_epoch,
        result.epochs_run,
        config.metric_for_best_model,
        result.best_metric or 0.0,
        result.train_samples_per_second,
        f"; resumed from {result.resumed_from}" if result.resumed_from else "",
    )
    if not is_launched():
        _remove_checkpoints(args.checkpoint_dir, config)


def write_curves(live_dir: str, result: TrainResult, config: TrainConfig) -> None:
    from dvclive import Live

    from hatespeech.tracking import log_epoch_curves

    with atomic_output(live_dir, directory=True) as live_tmp:
        live = Live(str(live_tmp), dvcyaml=None, save_dvc_exp=False, report=None)
        log_epoch_curves(live, result.log_history)
        live.summary["best_epoch"] = result.best_epoch
        live.summary[f"best_{config.metric_for_best_model}"] = result.best_metric
        live.summary["decision_rule"] = asdict(result.decision_rule)
        live.end()


def _remove_checkpoints(checkpoint_dir: str, config: TrainConfig) -> None:
    if not config.keep_checkpoints:
        shutil.rmtree(checkpoint_dir, ignore_errors=True)


if __name__ == "__main__":
    run_stage("train", main)
