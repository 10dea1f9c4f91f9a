"""The demo page: ``GET /`` shows the form, ``POST /`` (the form) shows the predictions, or what was wrong."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hatespeech import PipelineError
from hatespeech.service.deps import BatcherDep, ClassifierDep, MetricsDep, SettingsDep
from hatespeech.service.inputs import RequestError, check_texts, read_body
from hatespeech.service.page import form_texts, render_page
from hatespeech.service.routes.predict import answer
from hatespeech.service.schemas import PredictRequest
from hatespeech.service.settings import Settings

router = APIRouter(include_in_schema=False)


def limits(settings: Settings) -> dict[str, Any]:
    return {
        "max_texts": settings.max_texts,
        "max_chars": settings.max_chars,
        "explain_max_texts": settings.explain_max_texts,
    }


@router.get("/", response_class=HTMLResponse)
async def demo(settings: SettingsDep) -> HTMLResponse:
    return HTMLResponse(render_page(limits(settings)))


@router.post("/", response_class=HTMLResponse)
async def demo_form(
    request: Request, settings: SettingsDep, batcher: BatcherDep, classifier: ClassifierDep, metrics: MetricsDep
) -> HTMLResponse:
    texts: list[str] = []
    explain = False
    try:
        body = await read_body(request, settings.max_texts, settings.max_chars, form=True)
        texts, explain = form_texts(body)
        texts = check_texts(texts, settings.max_texts, settings.max_chars)
        checked = PredictRequest.model_construct(texts=texts, explain=explain)
        predictions = await answer(checked, settings, batcher, classifier, metrics)
    except (PipelineError, RequestError) as exc:  # a form that is not UTF-8 (400), or what /predict refuses
        status = exc.status if isinstance(exc, RequestError) else 400
        page = render_page(limits(settings), texts, explain=explain, error=str(exc))
        return HTMLResponse(page, status_code=status)
    return HTMLResponse(render_page(limits(settings), texts, predictions, explain))
