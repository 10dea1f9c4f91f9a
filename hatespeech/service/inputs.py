"""What users send to the service: request bodies (size bound before reading, JSON shape, limits), each failure
with its HTTP status; each text passes :func:`hatespeech.data.text.check_text` (valid Unicode)."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import Request
from starlette.requests import ClientDisconnect

from hatespeech.data.text import InvalidText, check_text
from hatespeech.service.schemas import PredictRequest

log = logging.getLogger(__name__)


class RequestError(Exception):
    """A failed request, answered with ``status`` and a message: 4xx says what to fix, 500 that prediction failed."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.headers = status, headers


def max_body_bytes(max_texts: int, max_chars: int, form: bool = False) -> int:
    """The largest body a valid request can have: every character escaped as \\uXXXX, plus the JSON around
    (``form``: the demo page's form, every character percent-encoded as up to 4 UTF-8 bytes of %XX each)."""
    if form:
        return max_texts * (12 * max_chars + 6) + 64
    return max_texts * (6 * max_chars + 4) + 64


async def read_body(request: Request, max_texts: int, max_chars: int, form: bool = False) -> bytes:
    """The request body; one larger than any valid request is refused without reading it all."""
    limit = max_body_bytes(max_texts, max_chars, form)
    declared = request.headers.get("content-length", "")
    size = int(declared) if declared.isdigit() else 0
    body = bytearray()
    if size <= limit:
        try:
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    break
        except ClientDisconnect:  # nobody is left to answer: one line, not a traceback per abandoned upload
            log.warning(
                "client %s disconnected before sending the whole body", request.client.host if request.client else "?"
            )
            raise RequestError(400, "the client disconnected before sending the whole body") from None
    if max(size, len(body)) > limit:
        raise RequestError(
            413,
            f"the body is larger than any valid request ({limit} bytes for "
            f"{max_texts} texts of at most {max_chars} characters)",
        )
    return bytes(body)


def parse_request(body: bytes, max_texts: int, max_chars: int) -> PredictRequest:
    """The texts (explain flag, policy name) of a /predict body, or a :class:`RequestError` naming the problem."""
    try:
        payload = json.loads(body)
    except ValueError as exc:  # bad UTF-8 or JSON, or a number past Python's integer-string conversion limit
        raise RequestError(400, f"the body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise RequestError(400, "the body is not valid JSON: nested too deeply") from exc
    if not isinstance(payload, dict):
        raise RequestError(422, 'the body must be a JSON object: {"texts": ["...", ...]}')
    if "texts" not in payload:
        raise RequestError(422, 'missing field "texts": send {"texts": ["...", ...]}')
    explain = payload.get("explain", False)
    if not isinstance(explain, bool):
        raise RequestError(422, f'"explain" must be true or false, got {json.dumps(explain)[:40]}')
    policy = payload.get("policy")
    if policy is not None and not isinstance(policy, str):
        raise RequestError(422, f'"policy" must be a policy\'s name, got {json.dumps(policy)[:40]}')
    texts = check_texts(payload["texts"], max_texts, max_chars)
    # check_texts has checked every text (with the limits the model cannot know): no second validation per request
    return PredictRequest.model_construct(texts=texts, explain=explain, policy=policy)


def check_texts(texts: Any, max_texts: int, max_chars: int) -> list[str]:
    """``texts`` if it is a list of 1..max_texts valid strings of at most ``max_chars``; else a RequestError."""
    if not isinstance(texts, list):
        raise RequestError(422, f'"texts" must be a list of strings, got {type(texts).__name__}')
    if not texts:
        raise RequestError(422, '"texts" is empty: send at least one text')
    if len(texts) > max_texts:
        raise RequestError(413, f"too many texts: {len(texts)}; at most {max_texts} per request")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise RequestError(422, f'"texts"[{i}] is not a string ({type(text).__name__})')
        if len(text) > max_chars:
            raise RequestError(413, f'"texts"[{i}] is {len(text)} characters long; at most {max_chars}')
        try:
            check_text(text, f'"texts"[{i}]')
        except InvalidText as exc:
            raise RequestError(422, str(exc)) from None
    return texts
