"""Tweet text as every model sees it: the one normalization (:class:`Normalizer`) that training, evaluation, the
baseline, the service, the CLIs and the audit all apply, saved with each model; plus the masking the baseline's
features and the split's near-duplicate groups share, and the digest that pairs two runs' predictions row by row.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import ClassVar, Literal

from hatespeech import PipelineError
from hatespeech.config import PARAMS_YAML, Section
from hatespeech.data.spelling import Spelling
from hatespeech.paths import NORMALIZER_FILE, SPELLING_FILE

_URL = re.compile(r"(?:https?://|www\.)\S+")
_MENTION = re.compile(r"(?<![\w@$!*])@\w+")  # not an @ inside a word: "tr@nny" is leetspeak, not a mention
# mask_tweet's older pattern, any @: the split's near-duplicate groups (and so the test split) are keyed on it
_ANY_AT = re.compile(r"@\w+")
_SPACES = re.compile(r"\s+")
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z]+\d*);")
# Single letters split by one separator kind ("b i t c h", "b.i.t.c.h", "b-i-t-c-h"): joined by deobfuscate.
_SPLIT_LETTERS = re.compile(r"(?<![\w*])(?:[a-z](?:([ .\-_])(?=[a-z]))){3,}[a-z](?![\w*])", re.IGNORECASE)
# A digit or symbol standing for a letter between letters ("b1tch", "h0e", "a$$"): leetspeak, mapped back.
_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
_LEET_WORD = re.compile(r"(?<![\w@$!])[a-z]+(?:(?:[013457@$!]+[a-z]+)+|\$+)(?![\w@$!])", re.IGNORECASE)
_STRETCH = re.compile(r"([a-z])\1{2,}", re.IGNORECASE)

EmojiMode = Literal["keep", "names"]


@dataclass(frozen=True)
class Normalizer(Section):
    """params.yaml's ``normalize`` section: how a text is cleaned before any model reads it.

    The tokenize stage applies it to the training data and the train stage saves it in the model directory
    (:data:`NORMALIZER_FILE`); everything that scores text loads it from there, so a model always scores with
    the normalization it was trained with. A model directory without the file predates normalization and
    loads :meth:`legacy`, which leaves texts untouched.
    """

    SECTION = "normalize"
    html: bool = PARAMS_YAML
    url: str | None = PARAMS_YAML
    mention: str | None = PARAMS_YAML
    emoji: EmojiMode = PARAMS_YAML
    deobfuscate: bool = PARAMS_YAML
    spelling: bool = PARAMS_YAML
    squeeze: bool = PARAMS_YAML
    # The word lists spelling corrections need (learnt by the augment stage, attached by with_words): data the
    # settings point to, not a setting; without them no word is corrected.
    words: ClassVar[Spelling | None] = None

    @classmethod
    def legacy(cls) -> Normalizer:
        """The identity: what models trained before normalization existed were fed (raw text)."""
        return cls(html=False, url=None, mention=None, emoji="keep", deobfuscate=False, spelling=False, squeeze=False)

    def with_words(self, path: str | Path | None) -> Normalizer:
        """These settings with the spelling word lists at ``path`` (the augment stage's), when ``spelling`` is on
        (``spelling`` without lists, as in a model trained on a pipeline without them, corrects nothing)."""
        if not self.spelling or path is None:
            return self
        return self.with_spelling(Spelling.load(path))

    def with_spelling(self, words: Spelling) -> Normalizer:
        """These settings with the given spelling word lists."""
        copy = replace(self)
        object.__setattr__(copy, "words", words)
        return copy

    def __call__(self, text: str) -> str:
        if self.html:
            text = unescape(text)
        if self.url is not None:
            text = _URL.sub(f" {self.url} ", text)
        if self.mention is not None:
            text = _MENTION.sub(f" {self.mention} ", text)
        if self.emoji == "names":
            text = emoji_names(text)
        if self.deobfuscate:
            text = deobfuscate(text)
        if self.words is not None:
            text = self.words(text)
        return squeeze_spaces(text) if self.squeeze else text

    def apply(self, texts: Iterable[str]) -> list[str]:
        return [self(text) for text in texts]

    def save(self, directory: str | Path) -> None:
        """Write the settings into a model directory (plain JSON, read by :meth:`load`), and the spelling word
        lists beside them where there are any."""
        settings = asdict(self)
        text = json.dumps(settings, indent=2, sort_keys=True) + "\n"
        (Path(directory) / NORMALIZER_FILE).write_text(text, encoding="utf-8")
        if self.words is not None:
            self.words.save(Path(directory) / SPELLING_FILE)

    @classmethod
    def load(cls, directory: str | Path) -> Normalizer:
        """The settings a model directory was trained with; :meth:`legacy` where it records none."""
        path = Path(directory) / NORMALIZER_FILE
        if not path.is_file():
            return cls.legacy()
        try:
            settings = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PipelineError(f"{path} is not a readable JSON file of normalizer settings: {exc}") from exc
        settings.setdefault("spelling", False)  # saved before spelling corrections existed
        lists = Path(directory) / SPELLING_FILE
        return cls.from_params(settings).with_words(lists if lists.is_file() else None)


def unescape(text: str, rounds: int = 3) -> str:
    """HTML entities unescaped until none is left (tweets are sometimes escaped twice: ``&amp;#128514;``)."""
    for _ in range(rounds):
        if not _ENTITY.search(text):
            break
        text = html.unescape(text)
    return text


def emoji_names(text: str) -> str:
    """Each emoji replaced by its name in words, spaced from its neighbours: the packaged tokenizer reads most
    emoji as one unknown token, their names as words it knows."""
    if text.isascii():  # every emoji has a character outside ASCII; emoji's scan costs ~0.1 ms a text
        return text
    import emoji

    return emoji.replace_emoji(text, replace=lambda chars, data: f" {data['en'].strip(':').replace('_', ' ')} ")


def deobfuscate(text: str) -> str:
    """Undo the disguises that keep a word's letters: spaced or dotted letters joined ("b i t c h" -> "bitch"),
    leetspeak between letters mapped back ("b1tch" -> "bitch"), letters stretched past two cut to two."""
    text = _SPLIT_LETTERS.sub(lambda m: re.sub(r"[ .\-_]", "", m.group(0)), text)
    text = _LEET_WORD.sub(lambda m: "".join(_LEET.get(c, c) for c in m.group(0)), text)
    return _STRETCH.sub(r"\1\1", text)


def mask_tweet(text: str, url: str = " ", mention: str = " ") -> str:
    """Lower-cased, HTML entities unescaped (the data has ``&amp;`` etc.), every URL replaced by ``url`` and
    every @mention by ``mention``."""
    text = html.unescape(text).lower()
    return _ANY_AT.sub(mention, _URL.sub(url, text))


def squeeze_spaces(text: str) -> str:
    """Runs of whitespace as one space, none at the ends."""
    return _SPACES.sub(" ", text).strip()


def text_id(text: str) -> str:
    """A short digest of a tweet: it pairs predictions of two runs row by row without copying the text."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


# A text must be valid Unicode, i.e. encodable as UTF-8. The one thing a Python string can hold that is not is a
# lone UTF-16 surrogate (U+D800 to U+DFFF on its own): a JSON escape such as "\ud800", or bytes that were not UTF-8
# decoded with Python's `surrogateescape`. Such a text is rejected with a message naming it, not repaired:
# replacing the character would classify a text the sender did not send, and the usual cause is an encoding
# mistake upstream that the sender should see. The service and `hatespeech-predict` both check every text.
class InvalidText(PipelineError):
    """A text that cannot be classified (not valid Unicode)."""


def check_text(text: str, where: str) -> str:
    """``text`` unchanged if it is valid Unicode; else an :class:`InvalidText` naming ``where`` and the character."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidText(
            f"{where} is not valid Unicode: a lone surrogate U+{ord(text[exc.start]):04X} at character {exc.start} "
            "(send UTF-8 text; a JSON \\ud800-\\udfff escape must be half of a surrogate pair)"
        ) from None
    return text
