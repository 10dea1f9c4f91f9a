"""Perspective API's v1alpha1 on this model, for clients moving off Perspective: ``POST
/v1alpha1/comments:analyze``, ``POST /v1alpha1/comments:suggestscore`` (stored as a correction before the answer),
and the discovery document ``GET /$discovery/rest?version=v1alpha1`` (:mod:`..perspective`, :mod:`..discovery`).
Keys come as Perspective's clients send them (``?key=``; the middleware checks them as for ``/predict``); every
error has Google's shape."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from hatespeech import PipelineError
from hatespeech.data.corrections import Correction
from hatespeech.service.deps import (
    BatcherDep,
    CallerDep,
    ClassifierDep,
    CorrectionsDep,
    MetricsDep,
    ModelInfoDep,
    SettingsDep,
)
from hatespeech.service.discovery import discovery_document
from hatespeech.service.inputs import RequestError, read_body
from hatespeech.service.perspective import (
    VERSION,
    PerspectiveError,
    analyze_response,
    parse_analyze,
    parse_suggestion,
    sentences,
    suggested_label,
    suggestion_response,
)
from hatespeech.service.routes.predict import answer
from hatespeech.service.schemas import PredictRequest

router = APIRouter(tags=["perspective"])


async def _payload(request: Request, max_chars: int) -> Any:
    """The JSON body, read within the size one comment's request can have."""
    try:
        body = await read_body(request, 1, max_chars)
    except RequestError as exc:
        raise PerspectiveError(exc.status, str(exc)) from None
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise PerspectiveError(400, f"Invalid JSON payload received: {exc}") from None


@router.post(f"/{VERSION}/comments:analyze")
async def analyze(
    request: Request, settings: SettingsDep, batcher: BatcherDep, classifier: ClassifierDep, metrics: MetricsDep
) -> dict:
    """Perspective's AnalyzeComment: the requested attributes' probabilities (see docs/serving.md for the mapping)."""
    parsed = parse_analyze(await _payload(request, settings.max_chars), settings.max_chars)
    spans = sentences(parsed.text) if parsed.spans else []
    texts = [parsed.text, *(parsed.text[begin:end] for begin, end in spans)]
    request.state.texts = len(texts)
    try:  # /predict's own path through the micro-batcher: its queue bound, metrics and error isolation
        results = await answer(
            PredictRequest.model_construct(texts=texts), settings, batcher, classifier, metrics, None
        )
    except RequestError as exc:
        raise PerspectiveError(exc.status, str(exc)) from None
    return analyze_response(parsed, [result["scores"] for result in results], spans)


@router.post(f"/{VERSION}/comments:suggestscore")
async def suggestscore(
    request: Request, settings: SettingsDep, caller: CallerDep, store: CorrectionsDep, info: ModelInfoDep
) -> dict:
    """Perspective's SuggestCommentScore: the suggestion is stored as a correction (committed before this answers)."""
    suggestion = parse_suggestion(await _payload(request, settings.max_chars), settings.max_chars)
    correction = Correction(
        suggestion.text,
        suggested_label(suggestion.scores),
        suggestion.scores,
        caller or "",
        suggestion.community_id,
        suggestion.client_token,
        info.data_sha256 or info.model_dir,
    )
    try:
        await asyncio.to_thread(store.add, correction)
    except PipelineError as exc:
        raise PerspectiveError(503, f"the correction could not be stored: {exc}") from None
    return suggestion_response(suggestion)


@router.get("/$discovery/rest", include_in_schema=False)
async def discovery(request: Request, version: str = VERSION) -> JSONResponse:
    """The discovery document Google's API client builds from (its URLs point at this service)."""
    if version != VERSION:
        raise PerspectiveError(404, f"no discovery document for version {version!r}: this service has {VERSION}")
    return JSONResponse(discovery_document(str(request.base_url)))


async def perspective_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PerspectiveError)
    return JSONResponse(status_code=exc.code, content=exc.body())
