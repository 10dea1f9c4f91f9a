"""Helpers for tests that run the stage scripts and dvc in a copy of the project."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["download", "split", "tokenize", "train", "evaluate", "baseline", "export"]
PROJECT_FILES = ("dvc.yaml", "params.yaml", "stages", "hatespeech", "profiles", ".dvcignore", "data/hate_speech_offensive")

# Small, fast settings under which the tiny model still learns the synthetic words.
TINY_TRAIN = {
    "epochs": 4,
    "batch_size": 8,
    "eval_batch_size": 32,
    "learning_rate": 3.0e-3,
    "warmup_steps": 0,
    "logging_steps": 5,
}


def make_project(dest: Path, source: str, checkpoint: str, train: dict | None = None) -> Path:
    """Copy the pipeline into ``dest`` with params pointing at local data and a local model."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif path.exists():
            shutil.copy2(path, dest / name)
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["download"]["source"] = source
    params["model"]["checkpoint"] = checkpoint
    params["train"].update(TINY_TRAIN if train is None else train)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return dest


def set_params(project: Path, section: str, **values) -> None:
    params = yaml.safe_load((project / "params.yaml").read_text())
    params[section].update(values)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


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
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def run_script(
    project: Path, script: str, *args: str, check: bool = False, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return run([sys.executable, script, *args], cwd=project, check=check, env=env)


def dvc(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "dvc", *args], cwd=project, check=check)


def git(project: Path, *args: str) -> subprocess.CompletedProcess:
    return run(["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *args], cwd=project)


def make_run(*variables: str) -> list[str]:
    """`make run` with this interpreter's environment, which is already set up (-o: do not reinstall it)."""
    venv = Path(sys.prefix)
    return ["make", "-o", f"{venv}/.installed", "run", f"VENV={venv}", *variables]


def ran_stages(result: subprocess.CompletedProcess) -> list[str]:
    """The stages a `dvc repro` / `dvc exp run` actually ran, in order."""
    return re.findall(r"Running stage '(\w+)'", result.stdout + result.stderr)


def init_repo(project: Path) -> None:
    """git + dvc init, with the project's own DVC config (its default local remote), committed."""
    git(project, "init", "-q")
    dvc(project, "init", "-q")
    shutil.copy2(ROOT / ".dvc" / "config", project / ".dvc" / "config")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "project")


def stage_command(stage: str) -> tuple[str, ...]:
    """The script and arguments of a stage's `cmd` in the project's dvc.yaml (without `python`)."""
    command = shlex.split(yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][stage]["cmd"])
    assert command[0] == "python", command
    return tuple(command[1:])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_service(model_dir: Path, workdir: Path, **settings: str) -> Iterator[tuple[str, Path]]:
    """A real uvicorn process serving ``model_dir`` (one inference thread); yields (base URL, its log file).

    ``settings`` become HATESPEECH_<NAME> environment variables.
    """
    import httpx

    port = free_port()
    env = {**tool_env(), "HATESPEECH_MODEL_DIR": str(model_dir), "HATESPEECH_THREADS": "1"}
    env.update({f"HATESPEECH_{name.upper()}": value for name, value in settings.items()})
    command = [sys.executable, "-m", "uvicorn", "--factory", "hatespeech.service:create_app",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    log_path = workdir / f"server-{port}.log"
    with open(log_path, "w+") as log:
        server = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                assert server.poll() is None, f"uvicorn exited: {log_path.read_text()}"
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "uvicorn did not answer /health within 60 s"
                time.sleep(0.2)
            yield base, log_path
        finally:
            server.terminate()
            server.wait(timeout=30)
