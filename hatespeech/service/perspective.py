"""Perspective API's v1alpha1 (``comments:analyze``, ``comments:suggestscore``) on this model: the request and
response shapes Perspective's clients send and read, its error shape, and its discovery document.

Attributes, from the model's calibrated class probabilities (the mapping the docs and the model card state):

- ``TOXICITY``: P(hate speech) + P(offensive language), the probability the text is either;
- ``IDENTITY_ATTACK`` and ``HATE_SPEECH``: P(hate speech), language that attacks a group for who they are;
- ``OFFENSIVE_LANGUAGE``: P(offensive language).

Anything else (``SEVERE_TOXICITY``, ``INSULT``, ``THREAT``, ...), a score type other than probability, a
language other than English or an HTML comment is refused with Perspective's error shape naming what is
supported: a score this model was not trained to give is never made up. ``spanAnnotations`` scores each sentence
on its own (begin and end in UTF-16 code units, as Perspective counts them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hatespeech.data.text import InvalidText, check_text

VERSION = "v1alpha1"
SUPPORTED_LANGUAGES = ("en",)
ATTRIBUTES: dict[str, Callable[[Mapping[str, float]], float]] = {
    "TOXICITY": lambda s: s["hate_speech"] + s["offensive_language"],
    "IDENTITY_ATTACK": lambda s: s["hate_speech"],
    "HATE_SPEECH": lambda s: s["hate_speech"],
    "OFFENSIVE_LANGUAGE": lambda s: s["offensive_language"],
}
SCORE_TYPES = ("PROBABILITY", "SCORE_TYPE_UNSPECIFIED")
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|\n|$)")


class PerspectiveError(Exception):
    """An error answered in Google's shape: ``{"error": {"code", "message", "status"}}``."""

    STATUSES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}
    STATUSES |= {413: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code

    def body(self) -> dict[str, Any]:
        return error_body(self.code, str(self))


def error_body(code: int, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": PerspectiveError.STATUSES.get(code, "UNKNOWN")}}


@dataclass(frozen=True)
class Analyze:
    """A checked ``comments:analyze`` request."""

    text: str
    attributes: dict[str, float | None]  # requested attribute -> its scoreThreshold (None: every score)
    languages: list[str]
    spans: bool
    client_token: str | None
    extras: dict[str, Any] = field(default_factory=dict)  # sessionId, communityId, doNotStore: accepted, not used


@dataclass(frozen=True)
class Suggestion:
    """A checked ``comments:suggestscore`` request: the text and the suggested attribute scores."""

    text: str
    scores: dict[str, float]
    languages: list[str]
    community_id: str | None
    client_token: str | None


def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PerspectiveError(400, f"{name} must be a JSON object")
    return value


def _string(value: Any, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise PerspectiveError(400, f"{name} must be a string")
    return value


def comment_text(payload: dict[str, Any], max_chars: int) -> str:
    """``comment.text`` of a request: plain text, valid Unicode, not empty, at most ``max_chars``."""
    comment = _object(payload.get("comment"), "comment")
    text = comment.get("text")
    if not isinstance(text, str) or not text.strip():
        raise PerspectiveError(400, "comment.text must be specified: a non-empty string")
    kind = comment.get("type", "PLAIN_TEXT")
    if kind not in ("PLAIN_TEXT", "TEXT_TYPE_UNSPECIFIED"):
        raise PerspectiveError(400, f"comment.type {kind!r} is not supported: this service reads PLAIN_TEXT")
    if len(text) > max_chars:
        raise PerspectiveError(400, f"comment.text is {len(text)} characters long; at most {max_chars}")
    try:
        check_text(text, "comment.text")
    except InvalidText as exc:
        raise PerspectiveError(400, str(exc)) from None
    return text


def languages(payload: dict[str, Any], attributes: list[str]) -> list[str]:
    """The request's languages, each of which must be English (no languages: English is assumed)."""
    requested = payload.get("languages") or []
    if not isinstance(requested, list) or not all(isinstance(code, str) for code in requested):
        raise PerspectiveError(400, "languages must be a list of language codes")
    unsupported = [code for code in requested if code.lower().split("-")[0] not in SUPPORTED_LANGUAGES]
    if unsupported:
        raise PerspectiveError(
            400,
            f"Attribute {attributes[0] if attributes else 'TOXICITY'} does not support request languages: "
            f"{', '.join(unsupported)}; this service supports {', '.join(SUPPORTED_LANGUAGES)} only",
        )
    return requested


def _attribute(name: str) -> str:
    if name not in ATTRIBUTES:
        raise PerspectiveError(
            400, f"Unknown or unsupported attribute: {name}; this service supports {', '.join(ATTRIBUTES)}"
        )
    return name


def parse_analyze(payload: Any, max_chars: int) -> Analyze:
    """A ``comments:analyze`` body, checked; a PerspectiveError (400) names the problem."""
    payload = _object(payload, "the request body")
    text = comment_text(payload, max_chars)
    requested = _object(payload.get("requestedAttributes"), "requestedAttributes")
    if not requested:
        raise PerspectiveError(400, f"requestedAttributes must name at least one of {', '.join(ATTRIBUTES)}")
    attributes: dict[str, float | None] = {}
    for name, parameters in requested.items():
        parameters = _object(parameters or {}, f"requestedAttributes.{name}")
        score_type = parameters.get("scoreType", "PROBABILITY")
        if score_type not in SCORE_TYPES:
            raise PerspectiveError(
                400, f"{name}: scoreType {score_type!r} is not supported; this service gives PROBABILITY"
            )
        threshold = parameters.get("scoreThreshold")
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))):
            raise PerspectiveError(400, f"{name}: scoreThreshold must be a number")
        attributes[_attribute(name)] = None if threshold is None else float(threshold)
    spans = payload.get("spanAnnotations", False)
    if not isinstance(spans, bool):
        raise PerspectiveError(400, "spanAnnotations must be true or false")
    extras = {key: payload[key] for key in ("sessionId", "communityId", "doNotStore") if key in payload}
    return Analyze(
        text,
        attributes,
        languages(payload, list(attributes)),
        spans,
        _string(payload.get("clientToken"), "clientToken"),
        extras,
    )


def sentences(text: str) -> list[tuple[int, int]]:
    """(begin, end) character offsets of each sentence of ``text`` (split after . ! ? and line breaks), without
    the whitespace around it; a text with no sentence break is one span."""
    spans = []
    for match in _SENTENCE.finditer(text):
        begin, end = match.start(), match.end()
        while begin < end and text[begin].isspace():
            begin += 1
        while end > begin and text[end - 1].isspace():
            end -= 1
        if end > begin:
            spans.append((begin, end))
    return spans or [(0, len(text))]


def utf16(text: str, offset: int) -> int:
    """The UTF-16 code unit offset of character ``offset`` (an emoji counts two, as Perspective counts)."""
    return len(text[:offset].encode("utf-16-le")) // 2


def _score(value: float) -> dict[str, Any]:
    return {"value": round(min(max(value, 0.0), 1.0), 6), "type": "PROBABILITY"}


def analyze_response(request: Analyze, scores: list[Mapping[str, float]], spans: list[tuple[int, int]]) -> dict:
    """The answer: ``scores[0]`` are the comment's calibrated class probabilities, the rest its spans' (when asked).
    An attribute whose summary score is under its scoreThreshold is left out, as Perspective does."""
    attribute_scores = {}
    for name, threshold in request.attributes.items():
        value = ATTRIBUTES[name](scores[0])
        if threshold is not None and value < threshold:
            continue
        entry: dict[str, Any] = {"summaryScore": _score(value)}
        if request.spans:
            entry["spanScores"] = [
                {"begin": utf16(request.text, b), "end": utf16(request.text, e), "score": _score(ATTRIBUTES[name](s))}
                for (b, e), s in zip(spans, scores[1:])
            ]
        attribute_scores[name] = entry
    answer: dict[str, Any] = {
        "attributeScores": attribute_scores,
        "languages": request.languages or list(SUPPORTED_LANGUAGES),
        "detectedLanguages": list(SUPPORTED_LANGUAGES),
    }
    if request.client_token is not None:
        answer["clientToken"] = request.client_token
    return answer


def parse_suggestion(payload: Any, max_chars: int) -> Suggestion:
    """A ``comments:suggestscore`` body, checked: the text and each suggested summaryScore (0 to 1)."""
    payload = _object(payload, "the request body")
    if payload.get("doNotStore") is True:
        raise PerspectiveError(400, "a suggestion is stored to train the model: doNotStore cannot be set on one")
    text = comment_text(payload, max_chars)
    suggested = _object(payload.get("attributeScores"), "attributeScores")
    if not suggested:
        raise PerspectiveError(400, f"attributeScores must suggest a score for one of {', '.join(ATTRIBUTES)}")
    scores = {}
    for name, entry in suggested.items():
        summary = _object(_object(entry, f"attributeScores.{name}").get("summaryScore"), f"{name}.summaryScore")
        value = summary.get("value")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise PerspectiveError(400, f"attributeScores.{name}.summaryScore.value must be a number from 0 to 1")
        scores[_attribute(name)] = float(value)
    return Suggestion(
        text,
        scores,
        languages(payload, list(scores)),
        _string(payload.get("communityId"), "communityId"),
        _string(payload.get("clientToken"), "clientToken"),
    )


def suggested_label(scores: Mapping[str, float]) -> str:
    """The class a suggestion says the text belongs to: hate speech if a hate attribute (IDENTITY_ATTACK,
    HATE_SPEECH) is suggested at 0.5 or more, else offensive language if TOXICITY or OFFENSIVE_LANGUAGE is, else
    neither."""
    if max(scores.get("IDENTITY_ATTACK", 0.0), scores.get("HATE_SPEECH", 0.0)) >= 0.5:
        return "hate_speech"
    if max(scores.get("TOXICITY", 0.0), scores.get("OFFENSIVE_LANGUAGE", 0.0)) >= 0.5:
        return "offensive_language"
    return "neither"


def suggestion_response(suggestion: Suggestion) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "detectedLanguages": list(SUPPORTED_LANGUAGES),
        "requestedLanguages": suggestion.languages,
    }
    if suggestion.client_token is not None:
        answer["clientToken"] = suggestion.client_token
    return answer
