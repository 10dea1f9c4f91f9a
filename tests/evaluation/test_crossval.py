"""Cross-validation: the folds (unit), the summary (unit), and cv/dvc.yaml run by real DVC on the tiny model,
killed after its first trained fold and resumed."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest
import yaml
from helpers import ROOT, dvc, git, init_repo, make_project, make_target, ran_stages, run, set_params, tool_env

from hatespeech import LABEL, LABELS, TEXT, PipelineError
from hatespeech.config import load_params
from hatespeech.data.sources import load_source
from hatespeech.data.splitting import SplitError, kfold_splits, near_duplicate_key
from hatespeech.evaluation.crossval import fold_ids, summarize
from hatespeech.testing import make_rows, write_csv


@pytest.fixture(scope="module")
def frame(tmp_path_factory):
    path = write_csv(tmp_path_factory.mktemp("cv") / "labeled_data.csv", make_rows(400))
    return load_source(str(path)).frame


def test_every_row_is_tested_once_and_near_duplicates_stay_together(frame):
    splits = kfold_splits(frame, folds=5, validation_size=0.1, seed=1)
    assert len(splits) == 5
    tested = sorted(text for split in splits for text in split["test"][TEXT])
    assert tested == sorted(frame[TEXT])
    for split in splits:
        assert sum(len(part) for part in split.values()) == len(frame)
        keys = {name: set(part[TEXT].map(near_duplicate_key)) for name, part in split.items()}
        assert not keys["train"] & keys["test"] and not keys["train"] & keys["validation"]
        assert not keys["validation"] & keys["test"]
        for part in split.values():
            assert set(part[LABEL]) == {0, 1, 2}
        assert 0.07 < len(split["validation"]) / len(frame) < 0.13  # validation_size of all rows


def test_folds_are_seeded(frame):
    first, again = kfold_splits(frame, 3, 0.1, seed=7), kfold_splits(frame, 3, 0.1, seed=7)
    other = kfold_splits(frame, 3, 0.1, seed=8)
    assert all(a["test"].equals(b["test"]) for a, b in zip(first, again))
    assert not all(a["test"].equals(b["test"]) for a, b in zip(first, other))


def test_too_few_tweets_of_a_class_for_k_folds_is_a_clear_error(frame):
    keys = frame[TEXT].map(near_duplicate_key)
    four_hateful = keys[frame[LABEL] == 0].unique()[:4]
    small = frame[(frame[LABEL] != 0) | keys.isin(four_hateful)]
    with pytest.raises(SplitError, match="too few distinct tweets of class 'hate_speech' for 5 folds"):
        kfold_splits(small, 5, 0.1, 0)
    with pytest.raises(SplitError, match="at least 2 folds"):
        kfold_splits(frame, 1, 0.1, 0)


@pytest.mark.parametrize("folds", [[0, 2], [1, 2, 3], [0], "5", None])
def test_fold_list_must_be_0_to_k_minus_1(folds):
    with pytest.raises(PipelineError, match="cv.folds must list"):
        fold_ids({"cv": {"folds": folds}})
    assert fold_ids({"cv": {"folds": [0, 1, 2]}}) == [0, 1, 2]


def test_summary_is_mean_and_sample_standard_deviation():
    def metrics(value):
        summary = dict.fromkeys(("accuracy", "precision_weighted", "recall_weighted", "f1_weighted", "f1_macro"), value)
        return {**summary, "per_class": {name: {"f1": value / 2} for name in LABELS}}

    summary = summarize([metrics(0.7), metrics(0.8), metrics(0.9)])
    assert summary["mean"]["f1_macro"] == pytest.approx(0.8)
    assert summary["std"]["f1_macro"] == pytest.approx(np.std([0.7, 0.8, 0.9], ddof=1))
    assert summary["mean"]["f1_hate_speech"] == pytest.approx(0.4)
    assert summary["per_fold"]["fold_2"]["accuracy"] == 0.9


CPU_SIZED = {"train.epochs"}  # the keys cv/params.yaml may override (shorter folds on a small machine)


def test_cv_params_hold_the_cv_section_and_cpu_sized_overrides_of_params_yaml():
    """cv/params.yaml extends params.yaml: the CV runs the main settings but for the keys it overrides."""
    main = load_params(ROOT / "params.yaml")
    cv = yaml.safe_load((ROOT / "cv/params.yaml").read_text())
    assert cv.pop("extends") == "../params.yaml"
    overrides = {
        f"{section}.{key}": value for section, values in cv.items() if section != "cv" for key, value in values.items()
    }
    assert set(overrides) <= CPU_SIZED
    assert all(key.split(".")[1] in main[key.split(".")[0]] for key in overrides), "an override params.yaml lacks"
    expected = {**main, "cv": cv["cv"]}
    for key, value in overrides.items():
        section, name = key.split(".")
        expected[section] = {**expected[section], name: value}
    assert load_params(ROOT / "cv/params.yaml") == expected


def test_cv_stages_track_each_setting_they_read_in_the_file_it_comes_from():
    """A CV stage tracks the keys it reads in ../params.yaml and, for those cv/params.yaml overrides, there too:
    else `make cv` would not rerun it after an override changed."""
    stages = yaml.safe_load((ROOT / "cv/pipeline.yaml").read_text())["stages"]
    main = yaml.safe_load((ROOT / "params.yaml").read_text())
    cv = yaml.safe_load((ROOT / "cv/params.yaml").read_text())
    overridden = {
        f"{section}.{key}" for section, values in cv.items() if section not in ("cv", "extends") for key in values
    }

    def has(params: dict, key: str) -> bool:
        section, _, name = key.partition(".")
        return section in params and (not name or name in params[section])

    def covers(keys: list[str], key: str) -> bool:
        return any(key == tracked or key.startswith(f"{tracked}.") for tracked in keys)

    for name, stage in stages.items():
        tracked: dict[str, list[str]] = {"../params.yaml": [], "params.yaml": []}
        for entry in stage.get("do", stage)["params"]:
            for path, keys in entry.items() if isinstance(entry, dict) else [("params.yaml", [entry])]:
                tracked[path] += keys
        assert tracked["../params.yaml"] and all(has(main, key) for key in tracked["../params.yaml"]), name
        assert all(has(cv, key) for key in tracked["params.yaml"]), name
        for key in overridden:
            if covers(tracked["../params.yaml"], key):
                assert covers(tracked["params.yaml"], key), f"{name} reads {key} but does not track cv/params.yaml's"


@pytest.mark.e2e
def test_cv_pipeline_runs_every_fold_resumes_after_a_kill_and_then_runs_nothing(tmp_path, tiny_model):
    data = write_csv(tmp_path / "labeled_data.csv", make_rows())
    project = make_project(tmp_path / "repo", str(data), str(tiny_model))
    set_params(project, "cv", "cv/params.yaml", folds=[0, 1])  # the fewest folds: 2
    init_repo(project)
    # Out of DVC's default collection until `make cv` runs: a clone's `dvc status` names no CV stage.
    assert "cv/" not in dvc(project, "status", "--json").stdout

    # What `make cv` runs, killed (SIGKILL, the whole process group) once the first fold's training is locked,
    # while the next stage's command has just started: DVC writes .dvc/tmp/rwlock in place between stages, and a
    # kill inside that write leaves it empty (DVC then refuses to run until it is deleted: docs/failure-and-
    # recovery.md). Started directly, so that this test reaps the killed dvc (a grandchild under make would stay
    # a zombie where PID 1 does not reap, and DVC would take its lock for a live run's).
    lock = project / "cv/dvc.lock"
    shutil.copy2(project / "cv/pipeline.yaml", project / "cv/dvc.yaml")
    command = [sys.executable, "-m", "dvc", "repro", "cv/dvc.yaml"]
    killed = subprocess.Popen(
        command,
        cwd=project,
        env=tool_env(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600

    def stage_commands() -> set[int]:
        """The processes under dvc running a stage script."""
        pids = set()
        for child in psutil.Process(killed.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):  # a child that ended between the listing and the look
                if "stages/" in " ".join(child.cmdline()):
                    pids.add(child.pid)
        return pids

    while not (lock.exists() and "train@" in lock.read_text()) and killed.poll() is None:
        assert time.monotonic() < deadline, "the first fold's training never finished"  # either fold: DVC's order
        time.sleep(0.05)
    # A stage command that started after that (polled every 50 ms) is still importing (a second or more): DVC
    # waits on it, out of its lock files.
    seen = stage_commands()
    while not stage_commands() - seen and killed.poll() is None:
        assert time.monotonic() < deadline, "no stage command started after the first fold's training"
        time.sleep(0.05)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    assert not (project / "cv/metrics.json").exists()
    trained = {fold for fold in range(2) if f"train@{fold}:" in lock.read_text()}
    assert len(trained) == 1, trained  # killed between the two folds' training

    resumed = run(make_target("cv"), project)
    assert "cv/" not in git(project, "diff", "--cached", "--name-only").stdout  # DVC's autostage undone
    stages = ran_stages(resumed)
    (done,) = trained
    left = 1 - done
    assert f"cv/dvc.yaml:train@{done}" not in stages and f"cv/dvc.yaml:tokenize_splits@{done}" not in stages
    # the other fold's training ran again, or (killed after it ended, before DVC wrote its lock) came from the
    # run cache: either way the lock now has it
    restored = f"Stage 'cv/dvc.yaml:train@{left}' is cached" in resumed.stdout + resumed.stderr
    assert f"cv/dvc.yaml:train@{left}" in stages or restored, resumed.stdout[-3000:]
    assert "cv/dvc.yaml:cv_summary" in stages
    locked = lock.read_text()  # every fold evaluated, whether before the kill or after it
    assert all(f"{stage}@{fold}:" in locked for stage in ("train", "evaluate", "baseline") for fold in range(2))
    assert "download" not in stages and "train" not in stages  # nothing of the main pipeline but its data

    summary = json.loads((project / "cv/metrics.json").read_text())
    assert summary["folds"] == 2
    for model in ("transformer", "baseline"):
        assert set(summary[model]["per_fold"]) == {"fold_0", "fold_1"}
        values = [fold["f1_macro"] for fold in summary[model]["per_fold"].values()]
        assert summary[model]["mean"]["f1_macro"] == pytest.approx(np.mean(values), abs=1e-6)
        assert summary[model]["std"]["f1_macro"] == pytest.approx(np.std(values, ddof=1), abs=1e-6)
    tests = [json.loads((project / f"cv/results/fold{i}/baseline/test.json").read_text()) for i in range(2)]
    assert sum(t["examples"] for t in tests) == len(load_source(str(data)).frame)  # every row tested once
    audit = json.loads((project / "cv/audit.json").read_text())  # the dialect audit over every row, out of fold
    assert audit["tweets"]["all"] == len(load_source(str(data)).frame) and audit["split"].startswith("every row")
    for model in ("transformer", "baseline"):
        assert audit[model]["aae"]["tweets"] == audit["tweets"]["aae"] > 0
        assert audit[model]["white"]["false_flag_neither"] is not None
        assert audit[model]["aae"]["fpr_offensive"] is not None  # Sap et al.'s measures, and at their threshold
        assert audit["at_papers_threshold"][model]["aae"]["tweets"] <= audit[model]["aae"]["tweets"]

    assert ran_stages(run(make_target("cv"), project)) == []
    # The default `dvc repro` is the main pipeline's, none of cv/'s: what it would run (a dry run stops at the
    # first stage whose input it never made, and exits non-zero there).
    main_run = ran_stages(dvc(project, "repro", "--dry", check=False))
    assert "split" in main_run and not [stage for stage in main_run if stage.startswith("cv/")]
