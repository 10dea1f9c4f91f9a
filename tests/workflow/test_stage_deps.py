"""dvc.yaml's code deps are exactly the code each stage runs (:mod:`hatespeech.workflow.stage_deps`): its script
and every `hatespeech` module it imports, directly or through other modules (imports inside functions included)."""

from __future__ import annotations

import shutil

import pytest
from helpers import ROOT

from hatespeech.workflow import stage_deps

STAGES = {
    f"{pipeline}:{name}": (stage, workdir)
    for pipeline in stage_deps.PIPELINES
    for name, stage, workdir in stage_deps.pipeline_stages(pipeline)
}


@pytest.mark.parametrize("name", sorted(STAGES))
def test_code_deps_are_exactly_what_the_stage_imports(name):
    runs, listed = stage_deps.stage_code(*STAGES[name])
    assert listed == set(runs), f"{name}: missing {sorted(set(runs) - listed)}, not used {sorted(listed - set(runs))}"


def test_a_removed_dep_is_caught():
    """The check above can fail: drop one module from a stage's deps and it reports that module."""
    stage = dict(STAGES["dvc.yaml:evaluate"][0])
    runs, _ = stage_deps.stage_code(stage, ROOT)
    dropped = "hatespeech/model/loading.py"
    assert dropped in runs
    stage["deps"] = [dep for dep in stage["deps"] if dep != dropped]
    _, listed = stage_deps.stage_code(stage, ROOT)
    assert set(runs) - listed == {dropped}


def test_imports_inside_functions_and_packages_count(tmp_path):
    script = tmp_path / "stage.py"  # a stage may import inside a function to start faster
    script.write_text(
        "def main():\n    from hatespeech.model.tracking import write_training_curves\n"
        "    import hatespeech.model.export\n"
    )
    assert {"hatespeech.model.tracking", "hatespeech.model.export"} <= stage_deps.imported_modules(script)


def test_write_restores_what_was_removed(tmp_path):
    """`--write` puts back a dropped module and drops a stale one, keeping comments and data deps."""
    for name in (*stage_deps.PIPELINES, "stages", "hatespeech"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy2)(ROOT / name, tmp_path / name)
    pipeline = tmp_path / "dvc.yaml"
    original = pipeline.read_text()
    pipeline.write_text(original.replace("      - hatespeech/model/loading.py\n", "      - hatespeech/gone.py\n", 1))
    assert stage_deps.mismatches(tmp_path)
    assert stage_deps.rewrite("dvc.yaml", tmp_path)
    assert pipeline.read_text() == original
    assert not stage_deps.mismatches(tmp_path)
