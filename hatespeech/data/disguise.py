"""Spelling variations that users write to get a word past a filter: one function per kind, each taking a word
and a seeded random generator and returning the disguised word.

The functional suite disguises its slurs and insults with them, the augment stage disguises the offensive words
of training tweets with them (other random draws), and the functional stage disguises real test tweets with them.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable

_VOWELS = "aeiou"
_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
_LEET_ALT = {"a": "@", "i": "!", "s": "$"}
_WORD = re.compile(r"[A-Za-z]+")
_HANDLE_END = re.compile(r"(?:@\w+|https?://\S+) +$")  # the text before a word ends in an @mention or URL
_HANDLE_START = re.compile(r" +(?:@\w|https?://)")  # the text after it starts with one


def _inner(word: str) -> range:
    """Positions a disguise may touch: not the first letter, so the word stays recognisable to a reader."""
    return range(1, len(word)) if len(word) > 1 else range(len(word))


def swap(word: str, rng: random.Random) -> str:
    """Two neighbouring letters swapped (``bitch`` -> ``btich``); first letter kept."""
    if len(word) < 3:
        return word
    candidates = [i for i in range(1, len(word) - 1) if word[i] != word[i + 1]] or [1]
    i = rng.choice(candidates)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def delete(word: str, rng: random.Random) -> str:
    """One inner letter left out (``bitch`` -> ``bith``)."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1 :]


def space(word: str, rng: random.Random) -> str:
    """A space between every letter (``b i t c h``)."""
    return " ".join(word)


def dots(word: str, rng: random.Random) -> str:
    """A dot (now and then a dash) between every letter (``b.i.t.c.h``)."""
    return rng.choice((".", ".", "-")).join(word)


def join(word: str, rng: random.Random) -> str:
    """The word run together with its neighbours: :func:`disguise_text` drops the spaces around it."""
    return word


def leet(word: str, rng: random.Random) -> str:
    """Letters as look-alike digits or symbols (``b1tch``, ``@ss``): one or two of them."""
    positions = [i for i, c in enumerate(word.lower()) if c in _LEET and i > 0] or [
        i for i, c in enumerate(word.lower()) if c in _LEET
    ]
    if not positions:
        return word
    chosen = rng.sample(positions, min(len(positions), rng.choice((1, 1, 2))))
    letters = list(word)
    for i in chosen:
        c = letters[i].lower()
        letters[i] = _LEET_ALT[c] if c in _LEET_ALT and rng.random() < 0.3 else _LEET[c]
    return "".join(letters)


def asterisk(word: str, rng: random.Random) -> str:
    """Inner vowels (or, lacking one, an inner letter) as asterisks (``b*tch``, ``f**k``)."""
    vowels = [i for i in _inner(word) if word[i].lower() in _VOWELS and i < len(word) - 1]
    positions = vowels or [i for i in range(1, len(word) - 1)]
    if not positions:
        return word
    count = len(positions) if rng.random() < 0.3 else 1
    chosen = set(rng.sample(positions, count))
    return "".join("*" if i in chosen else c for i, c in enumerate(word))


def stretch(word: str, rng: random.Random) -> str:
    """One letter (usually a vowel) repeated two to four more times (``biiitch``)."""
    vowels = [i for i, c in enumerate(word) if c.lower() in _VOWELS]
    i = rng.choice(vowels or list(range(len(word))))
    return word[: i + 1] + word[i] * rng.randint(2, 4) + word[i + 1 :]


DISGUISES: dict[str, Callable[[str, random.Random], str]] = {
    "swap": swap,
    "delete": delete,
    "space": space,
    "join": join,
    "leet": leet,
    "asterisk": asterisk,
    "stretch": stretch,
    "dots": dots,
}


def disguise_word(word: str, kind: str, rng: random.Random) -> str:
    """``word`` disguised the ``kind`` way (a key of :data:`DISGUISES`)."""
    try:
        return DISGUISES[kind](word, rng)
    except KeyError:
        raise ValueError(f"unknown disguise '{kind}': choose one of {', '.join(DISGUISES)}") from None


def disguise_span(text: str, start: int, end: int, kind: str, rng: random.Random) -> str:
    """``text`` with the word at ``[start, end)`` disguised; ``join`` runs it into its neighbours instead."""
    word = disguise_word(text[start:end], kind, rng)
    before, after = text[:start], text[end:]
    if kind == "join":  # not into an @mention or a URL: the word would be part of the handle or the link
        if not _HANDLE_END.search(before):
            before = before.rstrip(" ")
        if not _HANDLE_START.match(after):
            after = after.lstrip(" ")
    return before + word + after


def disguise_text(text: str, words: Iterable[str], kind: str, rng: random.Random, limit: int = 2) -> tuple[str, int]:
    """``text`` with up to ``limit`` of its words that are in ``words`` (lower case) disguised the ``kind`` way,
    last first so earlier offsets stay valid; also how many changed (0: no such word, or none this kind can change)."""
    vocabulary = set(words)
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text) if m.group(0).lower() in vocabulary]
    if len(spans) > limit:
        spans = sorted(rng.sample(spans, limit))
    changed = 0
    for start, end in reversed(spans):
        disguised = disguise_span(text, start, end, kind, rng)
        changed += disguised != text
        text = disguised
    return text, changed
