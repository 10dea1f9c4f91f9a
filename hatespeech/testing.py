"""Shared fixtures for the tests and the benchmark: synthetic tweets in the authors' CSV format, a tiny BERT
built locally, and copies of the project (from this checkout) driven through its stage scripts and DVC.

Nothing here is used by the pipeline itself; it is the one module that ``tests/`` and ``bench/`` both import.
"""

from __future__ import annotations

import csv
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
STAGES = [
    "download",
    "split",
    "augment",
    "tokenize_splits",
    "train",
    "evaluate",
    "baseline",
    "compare",
    "ensemble",
    "audit",
    "calibrate",
    "policy",
    "functional",
    "card",
    "export",
]
PROJECT_FILES = (
    "Makefile",
    "dvc.yaml",
    "params.yaml",
    "stages",
    "hatespeech",
    "profiles",
    "cv/pipeline.yaml",  # the cross-validation pipeline (`make cv` copies it to cv/dvc.yaml)
    "cv/params.yaml",
    ".dvcignore",
    "data/hate_speech_offensive",
    "data/twitteraae",  # the audit's dialect model
    "data/functional",  # the functional suite, the training templates and their target groups
    "docs/results/fairness/comparison.json",  # the card quotes the dialect mitigation's out-of-fold figures
    "data/feedback",  # users' corrections (only its README until some are exported)
)

# Small, fast settings under which the tiny model still learns the synthetic words.
TINY_TRAIN = {
    "epochs": 4,
    "batch_size": 8,
    "eval_batch_size": 32,
    "learning_rate": 3.0e-3,
    "warmup_steps": 0,
    "logging_steps": 5,
}

# The synthetic test split holds a few tweets per dialect group and gold label: report every rate.
TINY_AUDIT = {"min_group_size": 1}
# 20 cases of each of the suite's functionalities (about 700 of 9,726): the stage's work, at a test's size.
TINY_FUNCTIONAL = {"max_cases_per_functionality": 20}

# One thread for every stage of a tests' pipeline run: the thread count changes the order of floating-point sums
# (hatespeech/threads.py), and the tests compare the bytes of runs made in different processes and clones.
PINNED_THREADS = {"HATESPEECH_THREADS": "1"}


def make_project(dest: Path, source: str, checkpoint: str, train: dict | None = None) -> Path:
    """Copy the pipeline into ``dest`` with params pointing at local data and a local model."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif path.exists():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest / name)
    settings = {
        "download": {"source": source},
        "model": {"checkpoint": checkpoint},
        "train": TINY_TRAIN if train is None else train,
        "audit": TINY_AUDIT,
        "functional": TINY_FUNCTIONAL,
    }
    params = yaml.safe_load((dest / "params.yaml").read_text())
    for section, values in settings.items():
        params[section].update(values)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    # The cross-validation's cv/params.yaml extends params.yaml: of these, only the keys it overrides itself.
    cv_params = yaml.safe_load((dest / "cv" / "params.yaml").read_text())
    for section, values in settings.items():
        overrides = cv_params.get(section) or {}
        overrides.update({key: value for key, value in values.items() if key in overrides})
    (dest / "cv" / "params.yaml").write_text(yaml.safe_dump(cv_params, sort_keys=False))
    return dest


def set_params(project: Path, section: str, params_file: str = "params.yaml", **values) -> None:
    params = yaml.safe_load((project / params_file).read_text())
    params[section].update(values)
    (project / params_file).write_text(yaml.safe_dump(params, sort_keys=False))


def tool_env() -> dict[str, str]:
    """The environment for subprocesses: this interpreter's bin first, so dvc.yaml's `python` is ours."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    # Stage scripts import the package under test, whatever checkout an editable install points at.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run(
    args: list[str], cwd: Path, check: bool = True, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    environment = {**tool_env(), **(env or {})}
    result = subprocess.run(args, cwd=cwd, env=environment, capture_output=True, text=True, input=input, timeout=900)
    return _checked(result, check)


def _checked(result: subprocess.CompletedProcess, check: bool) -> subprocess.CompletedProcess:
    """``result``; with ``check`` a failure is an AssertionError showing all its output (what a test needs)."""
    if check and result.returncode != 0:
        command = " ".join(map(str, result.args))
        raise AssertionError(f"{command} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def run_script(
    project: Path, script: str, *args: str, check: bool = False, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return run([sys.executable, script, *args], cwd=project, check=check, env=env)


def dvc(
    project: Path, *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``dvc ARGS`` in ``project`` with :func:`tool_env` plus ``env``; with ``check`` a failure is an AssertionError."""
    from hatespeech.workflow.dvc import run_dvc

    environment = {**tool_env(), **(env or {})}
    return _checked(run_dvc(*args, cwd=project, env=environment, check=False, timeout=900), check)


def run_dvc_lines(project: Path, lines: list[str]) -> None:
    """Run ``dvc ...`` command lines (as `make s3-server` prints them) in ``project``."""
    for line in lines:
        command = shlex.split(line)
        assert command[0] == "dvc", line
        dvc(project, *command[1:])


def git(project: Path, *args: str) -> subprocess.CompletedProcess:
    return run(["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *args], cwd=project)


def ran_stages(result: subprocess.CompletedProcess) -> list[str]:
    """The stages a `dvc repro` / `dvc exp run` actually ran, in order (``cv/dvc.yaml:train@0`` for another file's)."""
    return re.findall(r"Running stage '([^']+)'", result.stdout + result.stderr)


def init_repo(project: Path) -> None:
    """git + dvc init, with the project's own DVC config (its default local remote), committed."""
    git(project, "init", "-q")
    dvc(project, "init", "-q")
    shutil.copy2(ROOT / ".dvc" / "config", project / ".dvc" / "config")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "project")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for a server a test or benchmark starts)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_ready(base: str, server: subprocess.Popen, log_path: Path, seconds: float = 60) -> None:
    """Poll ``base``/readyz until the HTTP service answers 200; an AssertionError with its log if the process
    exits or ``seconds`` pass first."""
    import time

    import httpx

    deadline = time.monotonic() + seconds
    # One client for every poll: a new one builds an SSL context each time (about 20 ms of CPU).
    with httpx.Client(timeout=2) as client:
        while True:
            assert server.poll() is None, f"the service exited ({server.returncode}): {log_path.read_text()[-3000:]}"
            try:
                if client.get(f"{base}/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (
                f"the service was not ready within {seconds:g} s: {log_path.read_text()[-3000:]}"
            )
            time.sleep(0.1)


def make_target(target: str, *variables: str) -> list[str]:
    """`make TARGET` with this interpreter's environment, which is already set up (-o: do not reinstall it)."""
    venv = Path(sys.prefix)
    return ["make", "-o", f"{venv}/.installed", target, f"VENV={venv}", *variables]


def stage_command(stage: str) -> tuple[str, ...]:
    """The script and arguments of a stage's `cmd` in the project's dvc.yaml (without `python`)."""
    command = shlex.split(yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][stage]["cmd"])
    assert command[0] == "python", command
    return tuple(command[1:])


# Made-up words per class, so a tiny model can learn something real in a few steps.
CLASS_WORDS = {
    0: ["zorgon", "blapper", "kravix", "muldrot", "snerk", "vorpal"],
    1: ["dang", "frick", "heckin", "darn", "crud", "bloop"],
    2: ["sunny", "garden", "coffee", "music", "weekend", "puppy"],
}
# "af", "yo" and "finna" make some tweets African-American-aligned for the TwitterAAE model (the bias audit's groups).
FILLER = ["the", "a", "is", "af", "you", "yo", "today", "finna", "what", "and", "this", "that", "lol"]
HEADER = ["", "count", "hate_speech", "offensive_language", "neither", "class", "tweet"]


def make_rows(n: int = 240, seed: int = 0, shares: tuple[float, float, float] = (0.2, 0.55, 0.25)) -> list[list]:
    """Rows of the authors' CSV (header excluded): ``[id, count, hate, offensive, neither, class, tweet]``."""
    rng = random.Random(seed)
    rows: list[list[Any]] = []
    for i in range(n):
        label = rng.choices([0, 1, 2], weights=shares)[0]
        words = rng.sample(CLASS_WORDS[label], 2) + rng.sample(FILLER, rng.randint(2, 8))
        rng.shuffle(words)
        text = " ".join(words)
        if rng.random() < 0.2:
            text = f"RT @user{rng.randint(1, 50)}: {text}"
        if rng.random() < 0.1:
            text += f" http://t.co/{rng.randint(1000, 9999)}"
        votes = [0, 0, 0]
        votes[label] = 3
        rows.append([i, 3, *votes, label, text])
    # Near-duplicates: retweets of earlier tweets must land in the same split as the original.
    for j in range(0, n // 10):
        original = rows[j * 7 % n]
        rows.append([n + j, *original[1:6], f"RT @fan{j}: {str(original[6]).upper()}!!"])
    return rows


def write_csv(path: Path, rows: list[list], header: list[str] = HEADER) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def build_tiny_bert(directory: Path) -> Path:
    """A randomly initialized 2-layer BERT with a WordPiece vocabulary covering the synthetic words."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast  # type: ignore[attr-defined]

    torch.manual_seed(0)  # the same tiny model in every test session

    directory.mkdir(parents=True, exist_ok=True)
    words = sorted({w for ws in CLASS_WORDS.values() for w in ws} | set(FILLER) | {"rt", "http", "co", "user", "fan"})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *list("abcdefghijklmnopqrstuvwxyz0123456789!:@/._"), *words]
    vocab += [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    token_ids = {token: i for i, token in enumerate(dict.fromkeys(vocab))}
    tokenizer = BertTokenizerFast(vocab=token_ids, do_lower_case=True, model_max_length=128)
    tokenizer.save_pretrained(directory)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(directory, safe_serialization=True)
    return directory
