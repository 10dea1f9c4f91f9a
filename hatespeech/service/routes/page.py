"""The demo page: ``GET /`` shows the form, ``POST /`` (the form) shows the predictions and their actions under
the chosen policy, or what was wrong."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hatespeech import PipelineError
from hatespeech.model.policy import Policy
from hatespeech.service.deps import BatcherDep, CallerDep, ClassifierDep, MetricsDep, PolicyChoiceDep, SettingsDep
from hatespeech.service.inputs import RequestError, check_texts, read_body
from hatespeech.service.page import form_texts, render_page
from hatespeech.service.policies import PolicyChoice
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


def policy_view(choice: PolicyChoice, policy: Policy | None) -> dict[str, Any]:
    """What the page shows of the policies: their names, the default, and the chosen one's thresholds."""
    thresholds = choice.policies.as_json()["policies"].get(policy.name) if policy else None
    chosen = policy.name if policy else None
    return {"names": choice.policies.names, "default": choice.default, "chosen": chosen, "thresholds": thresholds}


@router.get("/", response_class=HTMLResponse)
async def demo(settings: SettingsDep, choice: PolicyChoiceDep) -> HTMLResponse:
    return HTMLResponse(render_page(limits(settings), policies=policy_view(choice, None)))


@router.post("/", response_class=HTMLResponse)
async def demo_form(
    request: Request,
    settings: SettingsDep,
    batcher: BatcherDep,
    classifier: ClassifierDep,
    metrics: MetricsDep,
    choice: PolicyChoiceDep,
    caller: CallerDep,
) -> HTMLResponse:
    texts: list[str] = []
    explain, policy = False, None
    try:
        body = await read_body(request, settings.max_texts, settings.max_chars, form=True)
        texts, explain, name = form_texts(body)
        texts = check_texts(texts, settings.max_texts, settings.max_chars)
        policy = choice.choose(name, caller)
        checked = PredictRequest.model_construct(texts=texts, explain=explain, policy=name)
        predictions = await answer(checked, settings, batcher, classifier, metrics, policy)
    except (PipelineError, RequestError) as exc:  # a form that is not UTF-8 (400), or what /predict refuses
        status = exc.status if isinstance(exc, RequestError) else 400
        page = render_page(limits(settings), texts, explain=explain, error=str(exc), policies=policy_view(choice, None))
        return HTMLResponse(page, status_code=status)
    view = policy_view(choice, policy)
    return HTMLResponse(render_page(limits(settings), texts, predictions, explain, policies=view))
