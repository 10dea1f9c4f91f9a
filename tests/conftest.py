"""Shared fixtures: everything runs offline on synthetic data and a tiny BERT built here."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from filelock import FileLock

# Before transformers/datasets are imported anywhere: never touch the network.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["DVC_NO_ANALYTICS"] = "1"
# Several xdist workers share a few cores, each starting training, servers and stage processes: one OpenMP thread
# per process keeps their spinning threads from stealing each other's time slices (hatespeech/threads.py), which
# made the suite several times slower. Tests of the thread choice set or remove it themselves.
os.environ.setdefault("OMP_NUM_THREADS", "1")

sys.path.insert(0, str(Path(__file__).parent))
from helpers import PINNED_THREADS, dvc, git, init_repo, make_project, run_script, set_params, stage_command  # noqa: E402

from hatespeech.testing import build_tiny_bert, make_rows, write_csv  # noqa: E402

# Fixtures that cost tens of seconds to a minute and a half, shared by several tests: the pipeline repo (session),
# the ONNX export, the recovery project, the S3 team and the scored archive (module). Under pytest-xdist (`make
# test` runs several workers) the tests on each go to one worker, which builds it once, instead of once per worker.
# First match wins: the S3 team's tests also use the pipeline (its run cache) but run in their own group.
SHARED_FIXTURES = ("s3_team", "pipeline", "exported", "tokenized_project", "archive", "ray_head")
# A fixture whose tests run in another's group: the scoring jobs that join the Ray head run beside the archive's.
SAME_GROUP = {"ray_head": "archive"}


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.pluginmanager.hasplugin("xdist"):  # `-p no:xdist`: no groups to keep (nor their marker)
        return
    for item in items:
        for name in SHARED_FIXTURES:
            if name in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.xdist_group(SAME_GROUP.get(name, name)))
                break


CPU_START = pytest.StashKey[float]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--cpu-durations",
        type=int,
        metavar="N",
        help="list the N tests that used the most CPU, setup to teardown, their child processes included: with "
        "more workers than cores the suite's wall time follows CPU, not each test's own wall time",
    )


def _cpu_seconds() -> float:
    """This process's CPU time and that of its children it has waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(tryfirst=True)  # before the test's fixtures are set up: their cost is the first user's
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.stash[CPU_START] = _cpu_seconds()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    if call.when == "teardown" and CPU_START in item.stash:  # user_properties travel to xdist's controller
        item.user_properties.append(("cpu_s", _cpu_seconds() - item.stash[CPU_START]))
    yield


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    count = config.getoption("cpu_durations")
    if not count:
        return
    used = [
        (seconds, report.nodeid)
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "teardown"
        and (seconds := dict(getattr(report, "user_properties", ())).get("cpu_s")) is not None
    ]
    total = sum(seconds for seconds, _ in used)
    terminalreporter.write_sep(
        "=", f"most CPU: the first {count} of {len(used)} tests, which used {total:.1f} s in all"
    )
    for seconds, nodeid in sorted(used, reverse=True)[:count]:
        terminalreporter.write_line(f"{seconds:8.1f} s  {nodeid}")


@pytest.fixture(scope="session", autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory):
    """A HOME of its own: the shipped DVC remote (~/.cache/hatespeech-dvc-storage) and git config are the test's."""
    home = tmp_path_factory.mktemp("home")
    # Commits made by git and by `dvc exp` need an identity; CI machines may have none.
    (home / ".gitconfig").write_text("[user]\n\tname = test\n\temail = test@example.com\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        yield home


@pytest.fixture(scope="session", autouse=True)
def compile_cache(shared_dir: Path):
    """TorchInductor's kernel cache for this session only, shared by its workers and their processes: the tests
    that compile (tests/benchmarks/test_bench.py, tests/model/test_export.py) build their kernels from scratch, as
    on CI's fresh machine, so the suite's time does not depend on an earlier run. (Inductor keeps its precompiled
    C++ headers in /tmp/torchinductor_<user> whatever this says: built once per machine.)"""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TORCHINDUCTOR_CACHE_DIR", str(shared_dir / "torchinductor"))
        yield


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "labeled_data.csv", make_rows())


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """A folder every pytest-xdist worker of this session sees (the workers' base temp's parent); without workers
    (or with `-p no:xdist`), the session's own base temp."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if hasattr(request.config, "workerinput") else base


@pytest.fixture(scope="session")
def pipeline(shared_dir: Path, tiny_model: Path) -> SimpleNamespace:
    """A git repo holding the project, after three `dvc repro` runs (each committed):

    1. the first run on synthetic data with the tiny model;
    2. a second run with nothing changed;
    3. a run after changing only a train param (a learning rate too small to learn anything,
       so the metrics must move).

    Built once per session for every worker (under a file lock, by the first worker that needs it): the
    pipeline's tests run on its project, and the S3 team (another worker) starts from ``run_cache``, a copy of
    the DVC cache after these runs (objects and run cache), instead of repeating them. ``data`` and
    ``checkpoint`` are the params the runs used. Each run pins the thread count, so the bytes do not depend on
    the worker's load.
    """
    root = build_once(shared_dir / "pipeline", lambda root: _run_pipeline(root, tiny_model))
    runs = json.loads((root / "runs.json").read_text())
    results = {name: subprocess.CompletedProcess(**runs[name]) for name in ("first", "second", "train_change")}
    return SimpleNamespace(
        root=root,
        project=root / "repo",
        data=Path(runs["data"]),
        checkpoint=runs["checkpoint"],
        run_cache=root / "run-cache",
        first_commit=runs["first_commit"],
        **results,
    )


def build_once(root: Path, build: Callable[[Path], None]) -> Path:
    """``root`` after ``build(root)`` ran once for the whole session: the first worker to get here builds it under a
    file lock beside it (into an empty folder: what a worker that failed part-way left is removed); the others wait
    for it and reuse it."""
    done = root / ".built"
    with FileLock(root.with_name(f"{root.name}.lock")):
        if not done.exists():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True)
            build(root)
            done.touch()  # last: its presence says the build is complete
    return root


def _run_pipeline(root: Path, tiny_model: Path) -> None:
    data = write_csv(root / "labeled_data.csv", make_rows())
    project = make_project(root / "repo", str(data), str(tiny_model))
    init_repo(project)

    first = dvc(project, "repro", env=PINNED_THREADS)
    git(project, "add", "-A")
    git(project, "commit", "-qm", "first run")
    first_commit = git(project, "rev-parse", "HEAD").stdout.strip()
    second = dvc(project, "repro", env=PINNED_THREADS)

    set_params(project, "train", learning_rate=1.0e-6)
    train_change = dvc(project, "repro", env=PINNED_THREADS)
    git(project, "add", "-A")
    git(project, "commit", "-qm", "smaller learning rate")
    shutil.copytree(project / ".dvc" / "cache", root / "run-cache")
    runs: dict[str, object] = {
        name: {
            "args": list(map(str, result.args)),
            "returncode": result.returncode,
            "stdout": result.stdout,
            "stderr": result.stderr,
        }
        for name, result in (("first", first), ("second", second), ("train_change", train_change))
    }
    runs |= {"data": str(data), "checkpoint": str(tiny_model), "first_commit": first_commit}
    (root / "runs.json").write_text(json.dumps(runs))


DATA_STAGES = ("download", "split", "augment", "tokenize_splits")


@pytest.fixture(scope="session")
def staged_project(shared_dir: Path, tiny_model: Path) -> Path:
    """The project on synthetic tweets (`make_rows()`) and the tiny model after its data stages (download, split,
    augment, tokenize), built once per session for every worker (under a file lock): the tests of a later stage
    start from a copy (`helpers.copy_project`) instead of running those four stage processes again."""
    return build_once(shared_dir / "staged", lambda root: _run_data_stages(root, tiny_model)) / "project"


def _run_data_stages(root: Path, tiny_model: Path) -> None:
    data = write_csv(root / "labeled_data.csv", make_rows())
    project = make_project(root / "project", str(data), str(tiny_model))
    for stage in DATA_STAGES:
        result = run_script(project, *stage_command(stage))
        assert result.returncode == 0, result.stderr


@pytest.fixture(scope="session")
def trained_model(shared_dir: Path, tiny_model: Path) -> SimpleNamespace:
    """The tiny BERT fine-tuned on synthetic tweets (seconds), with its tokenized splits saved to disk: what the
    train and tokenize stages would leave in models/trained and data/tokenized, plus the calibration and policies
    the calibrate and policy stages add to the published model (models/model). Built once per session for every
    worker; tests read it and copy what they change."""
    root = build_once(shared_dir / "trained", lambda root: _train_tiny_model(root, tiny_model))
    return SimpleNamespace(model_dir=root / "model", tokenized=root / "tokenized")


def _train_tiny_model(root: Path, tiny_model: Path) -> None:
    from helpers import TINY_TRAIN, calibrate_model

    from hatespeech.data.sources import load_source
    from hatespeech.data.splitting import split_dataset
    from hatespeech.data.text import Normalizer
    from hatespeech.model.tokenization import tokenize_splits
    from hatespeech.model.training import TrainConfig, train_classifier

    data = write_csv(root / "labeled_data.csv", make_rows())
    splits = split_dataset(load_source(str(data)).frame, 0.1, 0.1, seed=0)
    normalizer = Normalizer()  # params.yaml's defaults, saved with the model as the train stage does
    tokenized, _ = tokenize_splits(splits, str(tiny_model), max_length=64, normalizer=normalizer)
    tokenized.save_to_disk(str(root / "tokenized"))
    (root / "model").mkdir()
    train_classifier(
        tokenized["train"],
        tokenized["validation"],
        str(tiny_model),
        TrainConfig.from_params(TINY_TRAIN),
        root / "model",
        root / "ckpt",
        seed=0,
    )
    normalizer.save(root / "model")
    calibrate_model(root / "model", root / "tokenized")
