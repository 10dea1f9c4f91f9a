"""Disguised spellings put back: the part of the :class:`~hatespeech.data.text.Normalizer` that needs word lists.

Users write offensive words and group names the way that gets them past a filter: ``f*ggot``, ``fagot``,
``fgagot``, ``f4ggot``, ``faaagot``, ``ugly faggotsnow``. The letter-level clean-up in ``text.deobfuscate``
undoes what can be undone without knowing words (spaced and dotted letters, leetspeak between letters, stretched
letters cut to two). :class:`Spelling` does the rest, for one word at a time, and only for a word that is not a
real word (not in ``known``):

- asterisks inside a word stand for letters of a *target* word (``ch*nk``, ``f**k``);
- digits and symbols anywhere in it read as letters (``muzz13``, ``f4ggo7``) where that gives a target;
- a doubled letter read once where that gives a target or a real word (``biitch``, ``shiit``, ``moneyy``);
- one inner letter left out, or two neighbours swapped, of a target of four letters or more (``fagot``, ``btich``);
  never the first letter, which disguises keep so that readers still recognise the word;
- offensive words run into their neighbours split off (``atranny``, ``theheebscame``, ``thatshitbitchyou``),
  when the rest are real words.

*Targets* are the offensive words the augment stage learns from the train split, the groups' slurs, the training
templates' insults and profanity, the words naming the protected groups and, last, the ``better-profanity``
package's English word list (``augment.profanity_list: all``: insults found in neither tweets nor templates, such
as ``tw*t``). With ``profanity_list: masked`` that list serves only words with asterisks inside (*masked
targets*): an asterisk is a writer's own sign that a word was censored, while one letter off a long list of
profanity is often an ordinary word misspelt. The *offensive* subset (all but that list) is what may be split off
a run-together word. *Known* words
are the checkpoint tokenizer's whole words and the words of the train split: a real word is never rewritten
(``niger``, ``dye``, ``con`` stay). The lists are saved next to the model's
normalizer settings (:data:`SPELLING_FILE`), so a model corrects with the lists it was trained with.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hatespeech import PipelineError

# A word as users disguise it: letters with asterisks, digits or leetspeak symbols among them.
_TOKEN = re.compile(r"[A-Za-z0-9*@$!]*[A-Za-z*][A-Za-z0-9*@$]*")
_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
_WORD = re.compile(r"[a-z]+")
OFFENSIVE_FILLERS = ("insult_word", "profanity")  # the training templates' fillers that are offensive words
GROUP_NAME_KEYS = ("plural", "member")  # the groups.yaml entries whose words name a group
MIN_KNOWN_COUNT = 2  # a word of the train split this often is a real word (tweets hold one-off misspellings)
MIN_EDIT_LENGTH = 4  # targets shorter than this are only corrected from asterisks, leetspeak and stretching
MIN_JOINED = 3  # an offensive word split off its neighbours has this many letters; each neighbour two (or "a", "i")
PROFANITY_FILE = "better_profanity/profanity_wordlist.txt"  # inside the better-profanity distribution
MAX_JOINED = 40  # longer runs of letters are not cut into words
# Endings that are known tokens but, split off an offensive word, would break its inflection ("dick ing").
_ENDINGS = frozenset("ed er es ly in ie ey ing ers ish ness less ism ist ity able ies ied est ery".split())


@dataclass(frozen=True)
class Spelling:
    """Word lists and the corrections they allow (see the module docstring); ``__call__`` corrects a text."""

    targets: tuple[str, ...]
    offensive: frozenset[str]
    known: frozenset[str]
    masked: tuple[str, ...] = ()  # more targets, read from asterisks only (after ``targets``)
    _target_set: frozenset[str] = field(init=False, repr=False, compare=False)
    _near: dict[str, str] = field(init=False, repr=False, compare=False)
    _wildcard_targets: tuple[str, ...] = field(init=False, repr=False, compare=False)  # what asterisks may spell

    def __post_init__(self) -> None:
        object.__setattr__(self, "_target_set", frozenset(self.targets))
        object.__setattr__(self, "_wildcard_targets", (*self.targets, *self.masked))
        near: dict[str, str] = {}
        for target in self.targets:
            if len(target) >= MIN_EDIT_LENGTH:
                for variant in sorted(_edits(target)):
                    if variant not in self.known and variant not in self._target_set:
                        near.setdefault(variant, target)  # the earlier (more frequent) target wins
        object.__setattr__(self, "_near", near)

    @classmethod
    def build(
        cls, targets: Iterable[str], offensive: Iterable[str], known: Iterable[str], masked: Iterable[str] = ()
    ) -> Spelling:
        """Lists lower-cased, alphabetic words only, targets (then masked targets) in the given order without
        repeats."""
        words = dict.fromkeys(w.lower() for w in targets if w.isalpha())  # ordered, and a set for the line below
        more = [w for w in dict.fromkeys(w.lower() for w in masked if w.isalpha()) if w not in words]
        return cls(tuple(words), frozenset(w.lower() for w in offensive if w.isalpha()), frozenset(known), tuple(more))

    def __call__(self, text: str) -> str:
        return _TOKEN.sub(lambda m: self.word(m.group(0)), text)

    def word(self, token: str) -> str:
        """``token`` corrected, or unchanged where no rule applies (it may come back as two words)."""
        low = token.lower()
        if low in self.known or low in self._target_set:
            return token
        if not low.isalpha():
            return self._masked(token, low)
        return self._stretched(low) or self._near.get(low) or self._joined(low) or token

    def _masked(self, token: str, low: str) -> str:
        if "*" in low[1:-1] and low[0] != "*" and low[-1] != "*" and sum(c.isalpha() for c in low) >= 2:
            return self._wildcard(low) or token
        leet = "".join(_LEET.get(c, c) for c in low)
        if leet != low and leet.isalpha():
            return leet if leet in self._target_set else self._near.get(leet, token)
        return token

    def _wildcard(self, low: str) -> str | None:
        """The first target that ``low`` matches with each run of asterisks as that many letters, else one to three."""
        escaped = re.escape(low)
        for pattern in (escaped.replace(r"\*", "[a-z]"), re.sub(r"(?:\\\*)+", "[a-z]{1,3}", escaped)):
            compiled = re.compile(pattern)
            match = next((t for t in self._wildcard_targets if compiled.fullmatch(t)), None)
            if match:
                return match
        return None

    def _stretched(self, low: str) -> str | None:
        for i in range(1, len(low)):
            if low[i] == low[i - 1]:
                once = low[:i] + low[i + 1 :]
                if once in self._target_set or once in self.known:
                    return once
        return None

    def _joined(self, low: str) -> str | None:
        """``low`` cut into known words and at least one offensive word (``atranny``, ``thatshitbitchyou``), in the
        fewest pieces; None where it cannot be."""
        if len(low) > MAX_JOINED:
            return None
        # best[i]: the fewest pieces low[:i] cuts into, and whether one is offensive (-1 pieces: it cannot be cut)
        best: list[tuple[int, bool, list[str]]] = [(-1, False, []) for _ in range(len(low) + 1)]
        best[0] = (0, False, [])
        for end in range(1, len(low) + 1):
            for start in range(end):
                count, offensive, pieces = best[start]
                piece = low[start:end]
                kind = self._piece(piece, first=start == 0)
                if count < 0 or kind is None:
                    continue
                candidate = (count + 1, offensive or kind, [*pieces, piece])
                if best[end][0] < 0 or (candidate[1], -candidate[0]) > (best[end][1], -best[end][0]):
                    best[end] = candidate
        count, offensive, pieces = best[len(low)]
        return " ".join(pieces) if count > 1 and offensive else None

    def _piece(self, piece: str, first: bool) -> bool | None:
        """True: an offensive word; False: a known word a run-together word may hold; None: neither."""
        if len(piece) >= MIN_JOINED and piece in self.offensive:
            return True
        if (first and piece in ("a", "i")) or (len(piece) >= 2 and piece in self.known and piece not in _ENDINGS):
            return False
        return None

    def save(self, path: str | Path) -> None:
        """The lists as plain JSON (read by :meth:`load`)."""
        document = {
            "targets": list(self.targets),
            "offensive": sorted(self.offensive),
            "known": sorted(self.known),
            "masked": list(self.masked),
        }
        Path(path).write_text(json.dumps(document, indent=0) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Spelling:
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
            masked = document.get("masked", [])  # absent from lists saved before masked targets existed
            return cls.build(document["targets"], document["offensive"], document["known"], masked)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PipelineError(
                f"{path} is not a readable spelling word list (targets, offensive, known): {exc}"
            ) from None


def _edits(word: str) -> set[str]:
    """``word`` with one inner letter left out, or two inner neighbours swapped (the first letter stays)."""
    deletions = {word[:i] + word[i + 1 :] for i in range(1, len(word))}
    inner = range(1, len(word) - 1)
    swaps = {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in inner if word[i] != word[i + 1]}
    return deletions | swaps


def profanity_list() -> list[str]:
    """The English profanity word list of the ``better-profanity`` package (its data file, read without importing
    the package), in file order; entries with anything but letters (``f4nny``, ``blue waffle``) are left out."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        path = Path(str(distribution("better-profanity").locate_file(PROFANITY_FILE)))
        words = path.read_text(encoding="utf-8").split("\n")
    except (PackageNotFoundError, OSError) as exc:
        raise PipelineError(
            f"augment.profanity_list needs the better-profanity package's word list ({exc}): "
            "pip install -r requirements.txt, or set augment.profanity_list: none"
        ) from None
    return [word.strip().lower() for word in words if word.strip().isalpha()]


def build_spelling(
    lexicon: Sequence[str],
    fillers: Mapping[str, Sequence[str]],
    groups: Mapping[str, Mapping[str, Sequence[str] | None]],
    tweets: Iterable[str],
    vocabulary: Iterable[str],
    more_targets: Sequence[str] = (),
    masked_targets: Sequence[str] = (),
) -> Spelling:
    """The lists the augment stage saves: targets from ``lexicon`` (learnt offensive words and the groups' slurs),
    the training templates' ``OFFENSIVE_FILLERS``, the words naming each group and last ``more_targets`` (a
    profanity list: targets only, never split off a run-together word) or ``masked_targets`` (the same list, read
    from asterisks only); known words from the tokenizer's ``vocabulary`` and the words seen
    :data:`MIN_KNOWN_COUNT` times in the train split's ``tweets``."""
    offensive = [*lexicon, *(word for name in OFFENSIVE_FILLERS for word in fillers.get(name, ()))]
    names = [
        word
        for terms in groups.values()
        for key in GROUP_NAME_KEYS
        for phrase in terms.get(key) or ()
        for word in phrase.lower().split()
        if len(word) >= MIN_EDIT_LENGTH
    ]
    counts = Counter(word for text in tweets for word in _WORD.findall(text.lower()))
    known = {w.lower() for w in vocabulary if w.isalpha()} | {w for w, n in counts.items() if n >= MIN_KNOWN_COUNT}
    return Spelling.build([*offensive, *names, *more_targets], offensive, known, masked_targets)
