"""The documentation names only what exists: its links resolve, every `make <target>` is a Makefile target, and every
repository path or `hatespeech` module it names in code or links is in the repository. Reads files only (no
subprocess), so it runs in a second."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "docs/results/README.md"]

# Top-level folders and files whose paths the docs name as repository content (pipeline outputs such as data/raw/,
# models/ or metrics/validation.json live elsewhere: under data/ only the shipped folders count).
SOURCES = ("hatespeech/", "stages/", "tests/", "profiles/", "docs/", "cv/", "bench/", "sweeps/", ".ci/", ".dvc/")
SOURCES += ("data/hate_speech_offensive/", "data/functional/", "data/twitteraae/")
TOP_FILES = {"Makefile", "dvc.yaml", "dvc.lock", "params.yaml", "sweep.yaml", "pyproject.toml", "requirements.txt"}
# What runs write inside those folders (git-ignored, made by `make cv`, the benchmarks or a reader's own files).
WRITTEN = {
    "cv/dvc.yaml",
    "cv/dvc.lock",
    "cv/metrics.json",
    "cv/audit.json",
    "bench/report.json",
    "bench/contention.json",
    ".dvc/config.local",
    ".dvc/tmp/rwlock",
}


def code_of(text: str) -> list[str]:
    """The fenced code blocks and inline code spans of a Markdown page."""
    fences = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)
    return fences + re.findall(r"`([^`\n]+)`", prose)


def links_of(text: str) -> list[str]:
    """Relative link targets, without their #anchor."""
    return [t for t in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text) if not re.match(r"[a-z]+:", t)]


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([\w-]+):(?!=)", (ROOT / "Makefile").read_text(), flags=re.MULTILINE))


def named_paths(code: str) -> set[str]:
    """Repository paths in a piece of code: tokens under a source folder, or a top-level file, without placeholders."""
    found = set()
    for token in re.findall(r"[\w./-]+", code):
        token = token.rstrip(".,:;")
        if token.startswith("./"):
            token = token[2:]
        if token in TOP_FILES or (token.startswith(SOURCES) and "/" in token):
            found.add(token)
    return found


def resolves(path: str, page: Path) -> bool:
    if path in WRITTEN or re.search(r"[<>*{}…]|\.\.\.", path):
        return True
    # A page under docs/ may name docs/results/... as results/... (relative to itself), as its links do.
    return (ROOT / path).exists() or (page.parent / path).exists()


def module_exists(dotted: str) -> bool:
    """hatespeech.a.b (or hatespeech.a.b.attribute): the module is a file or a package in the repository."""
    parts = dotted.split(".")
    for names in (parts, parts[:-1]) if len(parts) > 2 else (parts,):
        base = ROOT.joinpath(*names)
        if base.with_suffix(".py").is_file() or (base / "__init__.py").is_file():
            return True
    return False


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve(page: Path):
    for target in links_of(page.read_text(encoding="utf-8")):
        assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to a missing {target}"


def test_readme_is_a_front_page():
    assert len((ROOT / "README.md").read_text(encoding="utf-8").encode()) < 15_000


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_make_target_named_is_in_the_makefile(page: Path):
    targets = makefile_targets()
    named = set()
    for code in code_of(page.read_text(encoding="utf-8")):
        named |= set(re.findall(r"(?:^|[\s;&|(])make ([a-z0-9][\w-]*)", code, flags=re.MULTILINE))
    missing = sorted(named - targets)
    assert not missing, f"{page.relative_to(ROOT)} names make targets the Makefile lacks: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_repository_path_named_exists(page: Path):
    text = page.read_text(encoding="utf-8")
    named = set()
    for code in code_of(text):
        named |= named_paths(code)
    missing = sorted(p for p in named if not resolves(p, page))
    assert not missing, f"{page.relative_to(ROOT)} names paths that do not exist: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_hatespeech_module_named_exists(page: Path):
    named = set()
    for code in code_of(page.read_text(encoding="utf-8")):
        named |= set(re.findall(r"\b(?:hatespeech|bench)(?:\.\w+)+", code))
    missing = sorted(m for m in named if not module_exists(m))
    assert not missing, f"{page.relative_to(ROOT)} names modules that do not exist: {missing}"


def test_the_checks_catch_dead_names():
    """The checks above can fail: a removed target, path and module are caught."""
    assert "run-offline" not in makefile_targets()
    page = ROOT / "docs/pipeline.md"
    assert not resolves("profiles/offline-cpu.yaml", page) and not resolves("tests/test_recovery.py", page)
    assert named_paths("see `tests/test_recovery.py`, `dvc.yaml` and data/raw/tweets.parquet") == {
        "tests/test_recovery.py",
        "dvc.yaml",
    }
    assert not module_exists("hatespeech.no_such_module") and module_exists("hatespeech.model.training.TrainConfig")
