"""Every metric dvc.yaml declares is git's: a fresh clone's `dvc metrics show` and `dvc metrics diff` read them all,
before any pull or run, without DVC's "failed to load some metrics" warning (issue 40)."""

from __future__ import annotations

import hashlib
import json

import pytest
import yaml
from helpers import ROOT, dvc, git, run

DVC_YAML = yaml.safe_load((ROOT / "dvc.yaml").read_text())
LOCK = yaml.safe_load((ROOT / "dvc.lock").read_text())["stages"]


def declared_metrics() -> dict[str, dict]:
    """Each metrics file of dvc.yaml (a stage's `metrics:` or the top-level list): path -> its options."""
    declared: dict[str, dict] = {path: {} for path in DVC_YAML.get("metrics", [])}
    for stage in DVC_YAML["stages"].values():
        for entry in stage.get("metrics", []):
            path, options = (entry, {}) if isinstance(entry, str) else next(iter(entry.items()))
            declared[path] = options or {}
    return declared


def stage_metrics() -> set[str]:
    return {
        entry if isinstance(entry, str) else next(iter(entry))
        for stage in DVC_YAML["stages"].values()
        for entry in stage.get("metrics", [])
    }


def test_every_declared_metric_is_git_tracked_and_the_locked_one():
    declared = declared_metrics()
    assert "metrics/validation.json" in declared  # `make experiments` sorts a sweep by it
    tracked = set(git(ROOT, "ls-files", "metrics").stdout.split())
    assert sorted(set(declared) - tracked) == []
    for path in stage_metrics():  # a cached one would be absent from a fresh clone until `dvc pull`
        assert declared[path].get("cache") is False, f"{path}: declare it with `cache: false`"
    # What git holds is what dvc.lock recorded, so a fresh clone's `dvc status` does not call a stage changed.
    locked = {out["path"]: out["md5"] for stage in LOCK.values() for out in stage.get("outs", [])}
    for path in declared:
        assert hashlib.md5((ROOT / path).read_bytes()).hexdigest() == locked[path], path


@pytest.mark.e2e
def test_a_fresh_clone_shows_and_diffs_every_metric_without_a_warning(tmp_path):
    run(["git", "clone", "-q", str(ROOT), "fresh"], cwd=tmp_path)  # the committed state, as a new user gets it
    fresh = tmp_path / "fresh"
    shown = dvc(fresh, "metrics", "show", "--json")
    assert shown.stderr == ""
    files = json.loads(shown.stdout)[""]["data"]
    assert set(files) == set(declared_metrics()) and all("error" not in entry for entry in files.values())
    diff = dvc(fresh, "metrics", "diff")
    assert (diff.stdout, diff.stderr) == ("", "")  # nothing changed, nothing failed to load
