"""Tweet text as the data stages see it: the clean-up that the baseline's features and the split's near-duplicate
groups share, and the digest that pairs two runs' predictions row by row."""

from __future__ import annotations

import hashlib
import html
import re

_URL = re.compile(r"(?:https?://|www\.)\S+")
_MENTION = re.compile(r"@\w+")
_SPACES = re.compile(r"\s+")


def mask_tweet(text: str, url: str = " ", mention: str = " ") -> str:
    """Lower-cased, HTML entities unescaped (the data has ``&amp;`` etc.), every URL replaced by ``url`` and
    every @mention by ``mention``."""
    text = html.unescape(text).lower()
    return _MENTION.sub(mention, _URL.sub(url, text))


def squeeze_spaces(text: str) -> str:
    """Runs of whitespace as one space, none at the ends."""
    return _SPACES.sub(" ", text).strip()


def text_id(text: str) -> str:
    """A short digest of a tweet: it pairs predictions of two runs row by row without copying the text."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
