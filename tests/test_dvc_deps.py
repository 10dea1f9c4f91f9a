"""dvc.yaml's code deps are exactly the code each stage runs: its script and every `hatespeech` module it
imports, directly or through other modules (imports inside functions included). A missing dep would let
`dvc repro` call a stage up to date, and the run cache restore outputs, that the current code would not
produce; an extra one reruns a stage for nothing."""

from __future__ import annotations

import ast
import shlex
from pathlib import Path

import pytest
import yaml
from helpers import ROOT

PACKAGE = "hatespeech"


def imported_modules(path: Path) -> set[str]:
    """The `hatespeech` modules a file imports, as dotted names (``from hatespeech import x`` counts x if a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in names:
            if name.split(".")[0] == PACKAGE and module_file(name).is_file():
                found.add(name)
    return found


def module_file(name: str) -> Path:
    parts = name.split(".")
    if len(parts) == 1:
        return ROOT / parts[0] / "__init__.py"
    return ROOT.joinpath(*parts[:-1], f"{parts[-1]}.py")


def code_closure(script: Path) -> set[str]:
    """The script and every package file it reaches, as paths relative to the repository root."""
    files = {script.relative_to(ROOT).as_posix()}
    pending = [script]
    while pending:
        for name in imported_modules(pending.pop()):
            # Importing a.b runs a/__init__.py first.
            for depth in range(1, name.count(".") + 2):
                module = module_file(".".join(name.split(".")[:depth]))
                relative = module.relative_to(ROOT).as_posix()
                if relative not in files:
                    files.add(relative)
                    pending.append(module)
    return files


def stage_code(stage: dict, workdir: Path = ROOT) -> tuple[set[str], set[str]]:
    """(the code a stage's cmd runs, the code deps dvc.yaml lists for it), as paths from the repository root;
    ``workdir``: the directory of the dvc.yaml the stage is in, where its cmd runs."""
    stage = stage.get("do", stage)  # a foreach stage's template
    command = shlex.split(stage["cmd"])
    assert command[0] == "python", command
    listed = {
        (workdir / dep).resolve().relative_to(ROOT).as_posix() for dep in stage.get("deps", []) if dep.endswith(".py")
    }
    return code_closure((workdir / command[1]).resolve()), listed


# Every stage of both pipelines: the main one and cross-validation (cv/dvc.yaml, which runs in cv/).
PIPELINES = {"": ROOT, "cv/dvc.yaml:": ROOT / "cv"}
STAGES = {
    f"{prefix}{name}": (stage, workdir)
    for prefix, workdir in PIPELINES.items()
    for name, stage in yaml.safe_load((workdir / "dvc.yaml").read_text())["stages"].items()
}


@pytest.mark.parametrize("name", sorted(STAGES))
def test_code_deps_are_exactly_what_the_stage_imports(name):
    runs, listed = stage_code(*STAGES[name])
    assert listed == runs, f"{name}: missing from dvc.yaml {sorted(runs - listed)}, not used {sorted(listed - runs)}"


def test_a_removed_dep_is_caught(tmp_path):
    """The check above can fail: drop one module from a stage's deps and it reports that module."""
    stage = dict(STAGES["evaluate"][0])
    runs, _ = stage_code(stage)
    dropped = "hatespeech/modeling.py"
    assert dropped in runs
    stage["deps"] = [dep for dep in stage["deps"] if dep != dropped]
    _, listed = stage_code(stage)
    assert runs - listed == {dropped}


def test_imports_inside_functions_count(tmp_path):
    script = tmp_path / "stage.py"  # a stage may import inside a function to start faster
    script.write_text(
        "def main():\n    from hatespeech.tracking import write_training_curves\n    import hatespeech.export\n"
    )
    assert {"hatespeech.tracking", "hatespeech.export"} <= imported_modules(script)
