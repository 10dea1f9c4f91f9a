"""dvc.yaml's code deps derived from the imports: each stage's script and every ``hatespeech`` file it reaches,
directly or through other modules (imports inside functions included; importing ``a.b`` runs ``a/__init__.py``).

A missing dep lets `dvc repro` call a stage up to date, and the run cache restore outputs, that the current code
would not produce; an extra one reruns a stage for nothing. ``python -m hatespeech.workflow.stage_deps`` checks
both pipelines; ``--write`` rewrites their code deps in place (comments and other deps kept).
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from hatespeech.cli import fail

PACKAGE = "hatespeech"
ROOT = Path(__file__).resolve().parents[2]
PIPELINES = ("dvc.yaml", "cv/pipeline.yaml")  # the main pipeline; cross-validation (`make cv`, runs in cv/)


def module_file(name: str, root: Path = ROOT) -> Path:
    """The file a dotted module name runs: ``a/b.py``, or ``a/b/__init__.py`` for a package."""
    package = root.joinpath(*name.split("."))
    return package / "__init__.py" if package.is_dir() else package.with_suffix(".py")


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """The package's modules a file imports, as dotted names (``from hatespeech.x import y`` counts y if a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.update(name for name in names if name.split(".")[0] == PACKAGE and module_file(name, root).is_file())
    return found


def code_closure(script: Path, root: Path = ROOT) -> set[str]:
    """The script and every package file it reaches, as paths relative to ``root``."""
    files = {script.relative_to(root).as_posix()}
    pending = [script]
    while pending:
        for name in imported_modules(pending.pop(), root):
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):  # importing a.b runs a/__init__.py first
                module = module_file(".".join(parts[:depth]), root)
                relative = module.relative_to(root).as_posix()
                if relative not in files:
                    files.add(relative)
                    pending.append(module)
    return files


def stage_script(stage: dict[str, Any]) -> str:
    """The script a stage's ``cmd`` runs (``python SCRIPT ...``), as written there."""
    command = shlex.split(stage.get("do", stage)["cmd"])  # a foreach stage's template is under do
    if command[0] != "python":
        raise ValueError(f"a stage command that is not `python SCRIPT ...`: {command}")
    return command[1]


def stage_code(stage: dict[str, Any], workdir: Path, root: Path = ROOT) -> tuple[list[str], set[str]]:
    """(the code the stage runs, as dvc.yaml spells deps: script first, then sorted; the code deps it lists), both
    relative to ``workdir``, the directory its cmd runs in."""
    script = (workdir / stage_script(stage)).resolve()
    runs = code_closure(script, root)
    first = script.relative_to(root).as_posix()
    ordered = [first, *sorted(runs - {first})]
    spelled = [Path(os.path.relpath(root / path, workdir.resolve())).as_posix() for path in ordered]
    listed = {dep for dep in stage.get("do", stage).get("deps", []) if dep.endswith(".py")}
    return spelled, listed


def pipeline_stages(pipeline: str, root: Path = ROOT) -> Iterator[tuple[str, dict[str, Any], Path]]:
    path = root / pipeline
    for name, stage in yaml.safe_load(path.read_text(encoding="utf-8"))["stages"].items():
        yield name, stage, path.parent


def mismatches(root: Path = ROOT) -> list[str]:
    """One line per stage whose code deps differ from what it runs; empty when every stage is right."""
    lines = []
    for pipeline in PIPELINES:
        for name, stage, workdir in pipeline_stages(pipeline, root):
            runs, listed = stage_code(stage, workdir, root)
            missing, unused = sorted(set(runs) - listed), sorted(listed - set(runs))
            if missing or unused:
                lines.append(f"{pipeline}:{name}: missing {missing}, not used {unused}")
    return lines


_STAGE = re.compile(r"^  (\S+):\s*(#.*)?$")
_DEPS = re.compile(r"^(\s*)deps:\s*$")


def rewrite(pipeline: str, root: Path = ROOT) -> bool:
    """Replace each stage's ``.py`` deps with the code it runs, where the first one was; True if anything changed."""
    path = root / pipeline
    code = {name: stage_code(stage, workdir, root)[0] for name, stage, workdir in pipeline_stages(pipeline, root)}
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    out: list[str] = []
    stage: str | None = None
    item_indent: str | None = None
    written = False
    for line in lines:
        if match := _STAGE.match(line):
            stage = match.group(1) if match.group(1) in code else None
        if item_indent is not None:
            if line.startswith(f"{item_indent}- "):
                dep = line[len(item_indent) + 2 :].split("#")[0].strip()
                if dep.endswith(".py"):
                    if not written and stage is not None:
                        out.extend(f"{item_indent}- {file}\n" for file in code[stage])
                        written = True
                    continue
            else:
                item_indent = None
        if (match := _DEPS.match(line)) and stage is not None:
            item_indent, written = match.group(1) + "  ", False
        out.append(line)
    text = "".join(out)
    changed = text != path.read_text(encoding="utf-8")
    if changed:
        path.write_text(text, encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the code deps instead of checking them")
    args = parser.parse_args(argv)
    if args.write:
        for pipeline in PIPELINES:
            print(f"{pipeline}: {'rewritten' if rewrite(pipeline) else 'already right'}")
        return 0
    problems = mismatches()
    for line in problems:
        print(line, file=sys.stderr)
    return fail("stage_deps", f"{len(problems)} stage(s) with wrong code deps; fix: --write") if problems else 0


if __name__ == "__main__":
    sys.exit(main())
