"""Texts: what counts as one to classify, for every entry point (the HTTP service and `hatespeech-predict`),
and the tweet clean-up that the baseline's features and the split's near-duplicate groups share.

A text must be valid Unicode, i.e. encodable as UTF-8. The one thing a Python string can hold that is not
is a lone UTF-16 surrogate (U+D800 to U+DFFF on its own): a JSON escape such as "\\ud800", or bytes that
were not UTF-8 decoded with Python's `surrogateescape`. Such a text is **rejected** with a message naming
it, not repaired: replacing the character would classify a text the sender did not send, and the usual
cause is an encoding mistake upstream that the sender should see.
"""

from __future__ import annotations

import html
import re

from hatespeech import PipelineError

_URL = re.compile(r"(?:https?://|www\.)\S+")
_MENTION = re.compile(r"@\w+")
_SPACES = re.compile(r"\s+")


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


def mask_tweet(text: str, url: str = " ", mention: str = " ") -> str:
    """Lower-cased, HTML entities unescaped (the data has ``&amp;`` etc.), every URL replaced by ``url`` and
    every @mention by ``mention``."""
    text = html.unescape(text).lower()
    return _MENTION.sub(mention, _URL.sub(url, text))


def squeeze_spaces(text: str) -> str:
    """Runs of whitespace as one space, none at the ends."""
    return _SPACES.sub(" ", text).strip()
