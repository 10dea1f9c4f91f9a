"""Stage 4, train: fine-tune model.checkpoint with the Trainer; keep the best epoch; log curves with DVCLive."""

import argparse
import logging
import shutil
from pathlib import Path

from dvclive import Live

from hatespeech.cli import run_stage
from hatespeech.files import atomic_output, load_params
from hatespeech.tokenization import load_tokenized
from hatespeech.tracking import EpochCurves
from hatespeech.training import TrainConfig, train_classifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True, help="tokenized splits from the tokenize stage")
    parser.add_argument("--model-dir", required=True, help="where the trained model and tokenizer go")
    parser.add_argument("--live-dir", required=True, help="DVCLive directory for the training curves")
    parser.add_argument("--checkpoint-dir", required=True, help="scratch space for the Trainer's epoch checkpoints")
    args = parser.parse_args()
    params = load_params()
    config = TrainConfig.from_params(params["train"])

    checkpoints = Path(args.checkpoint_dir)
    shutil.rmtree(checkpoints, ignore_errors=True)  # stale checkpoints from another run must not be mixed in
    with atomic_output(args.model_dir, directory=True) as model_tmp, atomic_output(
        args.live_dir, directory=True
    ) as live_tmp:
        live = Live(str(live_tmp), dvcyaml=None, save_dvc_exp=False, report=None)
        result = train_classifier(
            load_tokenized(args.data),
            params["model"]["checkpoint"],
            config,
            model_out=model_tmp,
            checkpoint_dir=checkpoints,
            seed=int(params["base"]["seed"]),
            callbacks=[EpochCurves(live)],
        )
        logging.getLogger("hatespeech").info(
            "kept epoch %s of %.2f (validation %s %.4f); %.1f training samples/s",
            result.best_epoch,
            result.epochs_run,
            config.metric_for_best_model,
            result.best_metric or 0.0,
            result.train_samples_per_second,
        )
        live.summary["best_epoch"] = result.best_epoch
        live.summary[f"best_{config.metric_for_best_model}"] = result.best_metric
        live.end()
    shutil.rmtree(checkpoints, ignore_errors=True)


if __name__ == "__main__":
    run_stage("train", main)
