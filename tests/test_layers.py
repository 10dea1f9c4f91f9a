"""The package's imports point one way: shared basics <- data <- model <- evaluation <- service, scoring, workflow.
A module may import from its own layer and the layers below it, never above (so a subpackage can be read,
tested and changed without the ones that build on it)."""

from __future__ import annotations

import ast

import pytest
from helpers import ROOT

from hatespeech.workflow.stage_deps import imported_modules

LAYERS = {"data": 1, "model": 2, "evaluation": 3, "service": 4, "scoring": 4, "workflow": 4}
TEST_FIXTURES = "hatespeech/testing.py"  # the tests' and benchmark's helpers: they drive every layer


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.get(parts[1], 0) if len(parts) > 1 else 0  # 0: hatespeech/__init__ and the top-level modules


MODULES = sorted(
    path.relative_to(ROOT).as_posix()
    for path in (ROOT / "hatespeech").rglob("*.py")
    if path.relative_to(ROOT).as_posix() != TEST_FIXTURES
)


@pytest.mark.parametrize("path", MODULES)
def test_imports_point_down_the_layers(path):
    module = path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
    upward = sorted(name for name in imported_modules(ROOT / path) if layer(name) > layer(module))
    siblings = sorted(  # service, scoring and workflow share a layer but not code
        name
        for name in imported_modules(ROOT / path)
        if layer(name) == layer(module) == 4 and name.split(".")[1] != module.split(".")[1]
    )
    assert upward == [] and siblings == [], f"{module} imports from above its layer: {upward + siblings}"


def test_subpackage_inits_name_their_modules_and_import_nothing():
    """Each subpackage's __init__ is a docstring naming every module in it (it is a DVC dep of the stages)."""
    for init in sorted((ROOT / "hatespeech").glob("*/**/__init__.py")):
        text = init.read_text()
        assert not imported_modules(init) and "import " not in text
        modules = {path.stem for path in init.parent.glob("*.py")} - {"__init__"}
        assert {m for m in modules if f"``{m}``" not in text} == set(), f"{init} does not name them"


MAX_FUNCTION_LINES = 80  # a function longer than a screen does more than one thing: split it


def test_no_function_is_longer_than_a_screen():
    long = []
    for folder in ("hatespeech", "stages", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines = node.end_lineno - node.lineno + 1 if node.end_lineno else 0
                    if lines > MAX_FUNCTION_LINES:
                        long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []
