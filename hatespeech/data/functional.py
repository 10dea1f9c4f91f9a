"""The functional suite and the training templates: sentences generated deterministically from YAML templates and
filler lists (``data/functional/``), each with the label it should get and what it tests.

A file holds ``seed``, ``fillers`` (name -> list of words) and ``functionalities``: each has a ``name``,
``description``, ``expected`` label (``hate``, ``offensive``, ``neither``, or ``not_hate`` where offensive and
neither are both right) and either ``templates`` (``{placeholder}`` strings) or a ``source`` functionality and a
``disguise`` kind (:mod:`hatespeech.data.disguise`), whose cases are the source's with one word disguised; a
disguise that leaves an ordinary English word (``coons`` -> ``cons``, ``dyke`` -> ``dye``: as frequent as
:data:`COMMON_WORD_ZIPF` in ``wordfreq``'s English list) is no disguise a reader would see through, and the case is
left out.
Group placeholders (:data:`GROUP_KEYS`) expand over every target group of ``groups.yaml`` that has values for all
of them (``{group}`` its plural names, ``{member}`` one member with an article, ``{slur}``/``{slurs}`` its slurs);
filler placeholders over their lists. Each template yields at most :data:`GROUP_CASES` cases per group
(:data:`FILLER_CASES` without a group), drawn with a random generator seeded by the file's seed and the template.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from wordfreq import zipf_frequency

from hatespeech import LABEL, LABEL2ID, TEXT, PipelineError
from hatespeech.data.disguise import DISGUISES, disguise_span

# Group placeholders and the groups.yaml list each one is filled from, per target group.
GROUP_KEYS = {"group": "plural", "member": "member", "slur": "slurs", "slurs": "slurs_plural"}
DISGUISE_TARGETS = ("slur", "slurs", "insult", "profanity")  # the word a disguise functionality disguises
# The label names each expected label accepts.
EXPECTED: dict[str, tuple[str, ...]] = {
    "hate": ("hate_speech",),
    "offensive": ("offensive_language",),
    "neither": ("neither",),
    "not_hate": ("offensive_language", "neither"),
}
GROUP_CASES = 4
FILLER_CASES = 12
FUNCTIONALITY = "functionality"  # the column naming each case's (or training example's) functionality
CASE_COLUMNS = ("case_id", FUNCTIONALITY, "text", "expected", "target_group", "disguise", "template")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_PUNCTUATION = ".,;:!?'\"()"
COMMON_WORD_ZIPF = 3.0  # wordfreq's Zipf scale: once per million words, a word most readers know


@dataclass(frozen=True)
class Functionality:
    name: str
    description: str
    expected: str
    templates: tuple[str, ...] = ()
    source: str | None = None
    disguise: str | None = None


@dataclass(frozen=True)
class TemplateFile:
    """One YAML file of templates with the shared target groups."""

    path: Path
    seed: int
    fillers: Mapping[str, Sequence[str]]
    groups: Mapping[str, Mapping[str, Sequence[str]]]
    functionalities: tuple[Functionality, ...]


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PipelineError(f"cannot read the template file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise PipelineError(f"{path} must be a YAML mapping")
    return data


def _functionality(entry: Any, path: Path, allowed: Sequence[str]) -> Functionality:
    if not isinstance(entry, dict) or not entry.get("name"):
        raise PipelineError(f"{path}: every functionality needs a name, got {entry!r}")
    name = str(entry["name"])
    expected = entry.get("expected")
    if expected is not None and expected not in allowed:
        raise PipelineError(f"{path}: {name}'s expected label '{expected}' is not one of {', '.join(allowed)}")
    disguise = entry.get("disguise")
    if disguise is not None and disguise not in DISGUISES:
        raise PipelineError(f"{path}: {name}'s disguise '{disguise}' is not one of {', '.join(DISGUISES)}")
    if bool(entry.get("templates")) == bool(entry.get("source")):
        raise PipelineError(f"{path}: {name} needs either templates or a source functionality (and a disguise)")
    return Functionality(
        name=name,
        description=str(entry.get("description", "")),
        expected=str(expected or ""),
        templates=tuple(str(t) for t in entry.get("templates") or ()),
        source=entry.get("source"),
        disguise=disguise,
    )


def load_templates(path: str | Path, groups_path: str | Path, labels: Sequence[str] = tuple(EXPECTED)) -> TemplateFile:
    """Read a template file and the groups file; ``labels`` are the expected labels it may use."""
    path, groups_path = Path(path), Path(groups_path)
    data, groups = _read_yaml(path), _read_yaml(groups_path).get("groups") or {}
    functionalities = tuple(_functionality(e, path, labels) for e in data.get("functionalities") or ())
    names = [f.name for f in functionalities]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise PipelineError(f"{path}: functionality names used twice: {', '.join(duplicated)}")
    known = {f.name: f for f in functionalities}
    for f in functionalities:
        if f.source is not None and (f.source not in known or known[f.source].source is not None):
            raise PipelineError(f"{path}: {f.name}'s source '{f.source}' is not a template functionality of the file")
    fillers = {str(k): [str(v) for v in values] for k, values in (data.get("fillers") or {}).items()}
    for f in functionalities:
        for template in f.templates:
            unknown = set(_PLACEHOLDER.findall(template)) - set(fillers) - set(GROUP_KEYS)
            if unknown:
                raise PipelineError(f"{path}: {f.name}: unknown placeholder(s) {sorted(unknown)} in '{template}'")
    return TemplateFile(path, int(data.get("seed", 0)), fillers, groups, functionalities)


def _render(template: str, values: Mapping[str, str]) -> tuple[str, tuple[int, int] | None]:
    """The template filled in, and where the disguise target's value landed (None: no such placeholder)."""
    target = next((key for key in DISGUISE_TARGETS if "{" + key + "}" in template), None)
    out, span, last = [], None, 0
    for match in _PLACEHOLDER.finditer(template):
        out.append(template[last : match.start()])
        start = sum(map(len, out))
        out.append(values[match.group(1)])
        if match.group(1) == target and span is None:
            span = (start, start + len(values[match.group(1)]))
        last = match.end()
    out.append(template[last:])
    return "".join(out), span


def _assignments(template: str, pools: Mapping[str, Sequence[str]], cap: int, rng: random.Random) -> list[dict]:
    keys = list(dict.fromkeys(_PLACEHOLDER.findall(template)))
    combos = list(itertools.product(*(pools[k] for k in keys)))
    if len(combos) > cap:
        combos = rng.sample(combos, cap)
    return [dict(zip(keys, combo)) for combo in combos]


def _template_cases(spec: TemplateFile, f: Functionality) -> list[dict[str, Any]]:
    cases = []
    for template in f.templates:
        used = set(_PLACEHOLDER.findall(template))
        group_keys = used & set(GROUP_KEYS)
        targets: list[tuple[str | None, Mapping[str, Sequence[str]]]] = [(None, {})]
        if group_keys:
            targets = [
                (g, terms) for g, terms in spec.groups.items() if all(terms.get(GROUP_KEYS[k]) for k in group_keys)
            ]
        for group, terms in targets:
            rng = random.Random(f"{spec.seed}|{f.name}|{template}|{group}")
            pools = {**spec.fillers, **{k: list(terms.get(GROUP_KEYS[k]) or ()) for k in group_keys}}
            for values in _assignments(template, pools, GROUP_CASES if group else FILLER_CASES, rng):
                text, span = _render(template, values)
                cases.append({"text": text, "target_group": group, "template": template, "span": span})
    return cases


def generate_cases(spec: TemplateFile) -> pd.DataFrame:
    """Every case of the file, in file order: :data:`CASE_COLUMNS` (the disguise is None for plain cases)."""
    plain = {f.name: _template_cases(spec, f) for f in spec.functionalities if f.source is None}
    by_name = {f.name: f for f in spec.functionalities}
    rows = []
    for f in spec.functionalities:
        if f.source is None:
            cases = [{**case, "disguise": None} for case in plain[f.name]]
        else:
            rng = random.Random(f"{spec.seed}|{f.name}")
            cases = []
            for case in plain[f.source]:
                if case["span"] is None:
                    continue
                start, end = case["span"]
                text = disguise_span(case["text"], start, end, str(f.disguise), rng)
                # a kind that cannot change this word (leet without a look-alike) skips it, as does one that
                # makes another common word of it
                if text != case["text"] and not makes_common_word(case["text"], text):
                    cases.append({**case, "text": text, "disguise": f.disguise})
        expected = f.expected or by_name[f.source or f.name].expected
        for i, case in enumerate(cases):
            rows.append({**case, "case_id": f"{f.name}-{i:04d}", FUNCTIONALITY: f.name, "expected": expected})
    return pd.DataFrame(rows, columns=list(CASE_COLUMNS))


def makes_common_word(text: str, disguised: str) -> bool:
    """Whether ``disguised`` holds an ordinary English word of three letters or more that ``text`` does not (a
    word: letters only between spaces, punctuation at its ends aside): a disguise that yields one is no disguise."""
    new = _words(disguised) - _words(text)
    return any(len(word) >= 3 and zipf_frequency(word, "en") >= COMMON_WORD_ZIPF for word in new)


def _words(text: str) -> set[str]:
    return {w for w in (t.strip(_PUNCTUATION) for t in text.lower().split()) if w.isalpha()}


def is_correct(expected: pd.Series | Sequence[str], predicted: Sequence[str]) -> list[bool]:
    """Whether each predicted label name is one the case's expected label accepts."""
    return [label in EXPECTED[e] for e, label in zip(expected, predicted)]


def training_examples(spec: TemplateFile) -> pd.DataFrame:
    """The training templates' cases as labelled rows (``text``, ``label`` id, ``functionality``)."""
    cases = generate_cases(spec)
    labels = [LABEL2ID[EXPECTED[e][0]] for e in cases["expected"]]
    return pd.DataFrame({TEXT: cases[TEXT], LABEL: labels, FUNCTIONALITY: cases[FUNCTIONALITY]})


def check_disjoint(training: TemplateFile, suite: TemplateFile, clean: Callable[[str], str]) -> int:
    """Refuse training templates that share a template or a generated sentence (as ``clean`` normalizes it,
    case aside) with the suite, which must measure what training did not show; returns the suite's case count."""
    shared_templates = {t for f in training.functionalities for t in f.templates} & {
        t for f in suite.functionalities for t in f.templates
    }
    cases = generate_cases(suite)
    seen = {clean(text).lower() for text in cases["text"]}
    shared = sorted(shared_templates) or sorted(
        {t for t in generate_cases(training)["text"] if clean(t).lower() in seen}
    )
    if shared:
        raise PipelineError(
            f"{len(shared)} training template(s) or sentence(s) of {training.path} are also in the functional suite "
            f"{suite.path}, e.g. '{shared[0]}': reword them, so that the suite measures what training did not show"
        )
    return len(cases)
