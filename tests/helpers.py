"""Helpers for the tests only; what the benchmark shares with them is in :mod:`hatespeech.testing`."""

from __future__ import annotations

import contextlib
import html
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from hatespeech.testing import (  # noqa: F401  (the tests import these from here)
    PINNED_THREADS,
    ROOT,
    STAGES,
    TINY_TRAIN,
    dvc,
    free_port,
    git,
    init_repo,
    make_project,
    make_target,
    ran_stages,
    run,
    run_dvc_lines,
    run_script,
    set_params,
    stage_command,
    tool_env,
    wait_until_ready,
)


def copy_project(source: Path, dest: Path, **sections: dict) -> Path:
    """A copy of the project ``source`` (e.g. the ``staged_project`` fixture) at ``dest``, with the params of
    ``sections`` updated (``train={...}``): a later stage's test starts where the earlier stages left it."""
    shutil.copytree(source, dest)
    for section, values in sections.items():
        set_params(dest, section, **values)
    return dest


# Tweets as users send them, and as the dataset stores them: HTML-escaped, each character beyond ASCII an entity.
RAW = ["zorgon & dang 😂😂 @bob http://t.co/x1", "sunny <garden> coffee 👍🏿 lol", "frick   that   blapper 💯"]


def escaped(text: str) -> str:
    return "".join(c if ord(c) < 128 else f"&#{ord(c)};" for c in html.escape(text, quote=False))


ESCAPED = [escaped(t) for t in RAW]


# The tiny model's policies: targets its few validation tweets can reach, so that every action occurs.
TINY_POLICIES = {
    "default": "watchful",
    "min_flags": 1,
    "flag_confidence": 0.5,
    "policies": {
        "watchful": {"flag_precision": {"offensive_language": 0.9}, "review_recall": {"hate_speech": 1.0}},
        "hands-off": {"flag_precision": {"hate_speech": 0.999}, "review_recall": {"hate_speech": 0.2}},
    },
}


def calibrate_model(model_dir: Path, tokenized: Path) -> None:
    """What the calibrate and policy stages add to a published model directory: a calibration map and policies,
    fitted on the validation split's probabilities (:data:`TINY_POLICIES`)."""
    from hatespeech.model.calibration import CalibrateConfig, fit_calibration
    from hatespeech.model.inference import evaluate_split
    from hatespeech.model.loading import load_classifier, load_tokenizer
    from hatespeech.model.policy import PolicyConfig, fit_policies
    from hatespeech.model.tokenization import load_tokenized

    validation = load_tokenized(str(tokenized))["validation"]
    labels, probabilities = evaluate_split(load_classifier(str(model_dir)), load_tokenizer(str(model_dir)), validation)
    calibration = fit_calibration(probabilities, labels, CalibrateConfig(folds=2), seed=0)
    calibration.save(model_dir)
    fit_policies(PolicyConfig.from_params(TINY_POLICIES), calibration.apply(probabilities), labels).save(model_dir)


@contextlib.contextmanager
def service_client(classifier, metrics_dir: Path, **settings) -> Iterator:
    """FastAPI's TestClient on the app serving an already loaded ``classifier``; ``settings``: Settings fields
    (the test metrics file is absent: ``metrics_dir`` holds none)."""
    from fastapi.testclient import TestClient

    from hatespeech.service.main import create_app
    from hatespeech.service.settings import Settings

    config = Settings.load(model_dir=str(classifier.model_dir), metrics=str(metrics_dir / "none.json"), **settings)
    with TestClient(create_app(config, classifier)) as client:
        yield client


def uvicorn_command(port: int) -> list[str]:
    """The service as its docs start it: uvicorn calling the app factory, on 127.0.0.1:``port``."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "hatespeech.service.main:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


@contextlib.contextmanager
def running_service(model_dir: Path, workdir: Path, **settings: str) -> Iterator[tuple[str, Path]]:
    """A real uvicorn process serving ``model_dir`` (one inference thread); yields (base URL, its log file).

    ``settings`` become HATESPEECH_<NAME> environment variables.
    """
    with service_process(model_dir, workdir, **settings) as (base, log_path, _):
        yield base, log_path


@contextlib.contextmanager
def service_process(model_dir: Path, workdir: Path, **settings: str) -> Iterator[tuple[str, Path, subprocess.Popen]]:
    """:func:`running_service`, also yielding the process (a test may kill it); stopped at the end if still up."""
    port = free_port()
    env = {**tool_env(), "HATESPEECH_MODEL_DIR": str(model_dir), "HATESPEECH_THREADS": "1"}
    env.update({f"HATESPEECH_{name.upper()}": value for name, value in settings.items()})
    command = [*uvicorn_command(port), "--log-level", "warning"]
    log_path = workdir / f"server-{port}.log"
    with open(log_path, "w+") as log:
        server = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_ready(base, server, log_path)
            yield base, log_path, server
        finally:
            if server.poll() is None:
                server.terminate()
            server.wait(timeout=30)


def tree_hashes(root: Path, *folders: str) -> dict[str, str]:
    """sha256 of every file under ``root``'s ``folders``, by path relative to ``root`` (two clones compared)."""
    from hatespeech.io import sha256_file

    return {
        str(path.relative_to(root)): sha256_file(path)
        for folder in folders
        for path in sorted((root / folder).rglob("*"))
        if path.is_file()
    }


def tiny_tokenized(csv_file: Path, tiny_model: Path):
    """The synthetic CSV split 80/10/10 and tokenized at 32 tokens: what the tiny Trainer runs train on."""
    from hatespeech.data.sources import load_source
    from hatespeech.data.splitting import split_dataset
    from hatespeech.model.tokenization import tokenize_splits

    splits = split_dataset(load_source(str(csv_file)).frame, 0.1, 0.1, seed=0)
    return tokenize_splits(splits, str(tiny_model), max_length=32)[0]


def train_tiny(tokenized, tiny_model: Path, tmp_path: Path, **params):
    """A real Trainer run of the tiny BERT with TINY_TRAIN and ``params``; returns (TrainResult, model dir)."""
    from hatespeech.model.training import TrainConfig, train_classifier

    out = tmp_path / "model"
    out.mkdir()
    config = TrainConfig.from_params({**TINY_TRAIN, **params})
    result = train_classifier(
        tokenized["train"], tokenized["validation"], str(tiny_model), config, out, tmp_path / "ckpt", seed=0
    )
    return result, out
