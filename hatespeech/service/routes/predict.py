"""``POST /predict``: labels, calibrated per-class scores and a moderation policy's actions for a batch of texts,
through the micro-batcher."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from fastapi import APIRouter

from hatespeech.evaluation.explain import explain_classifier
from hatespeech.model.inference import Classifier
from hatespeech.model.policy import Policy
from hatespeech.service.batching import MicroBatcher, QueueFull
from hatespeech.service.deps import (
    BatcherDep,
    CallerDep,
    ClassifierDep,
    MetricsDep,
    PolicyChoiceDep,
    PredictBody,
    SettingsDep,
)
from hatespeech.service.inputs import RequestError
from hatespeech.service.operations import ServiceMetrics
from hatespeech.service.schemas import ERRORS, PredictRequest, PredictResponse
from hatespeech.service.settings import Settings

router = APIRouter(tags=["predict"])


@router.post(
    "/predict",
    response_model=PredictResponse,
    response_model_exclude_unset=True,  # no "explanation": null when none was asked for
    responses=ERRORS,
    openapi_extra={  # the body is read by hand (bounded before reading): its schema comes from the model
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": PredictRequest.model_json_schema()}},
        }
    },
)
async def predict(
    body: PredictBody,
    settings: SettingsDep,
    batcher: BatcherDep,
    classifier: ClassifierDep,
    metrics: MetricsDep,
    choice: PolicyChoiceDep,
    caller: CallerDep,
) -> dict[str, Any]:
    """Each text's label (the model's decision rule), its calibrated score and every class's, and the action of the
    moderation policy (the request's ``"policy"``, else the API key's, else the service's default), in the order
    sent; ``"explain": true`` adds each text's token scores."""
    policy = choice.choose(body.policy, caller)
    return {"predictions": await answer(body, settings, batcher, classifier, metrics, policy)}


async def answer(
    request: PredictRequest,
    settings: Settings,
    batcher: MicroBatcher,
    classifier: Classifier,
    metrics: ServiceMetrics,
    policy: Policy | None,
) -> list[dict[str, Any]]:
    """/predict's work, shared with the demo page: predictions, each with the ``policy``'s action, and
    explanations if asked for."""
    if request.explain and len(request.texts) > settings.explain_max_texts:
        raise RequestError(
            413,
            f"explanations are limited to {settings.explain_max_texts} texts per request, got "
            f"{len(request.texts)}: send fewer texts, or leave out explain",
        )
    try:
        future = batcher.submit(request.texts)
    except QueueFull as exc:
        metrics.rejected.labels("queue_full").inc()
        raise RequestError(503, f"the service is at capacity ({exc}): retry shortly", {"Retry-After": "1"}) from None
    metrics.texts.observe(len(request.texts))
    try:
        predictions = await asyncio.wrap_future(future)
        if policy is not None:  # on the scores as answered, as Classifier.results decides: the same action
            predictions = [{**p, **policy.decide(p["scores"])} for p in predictions]
            for action, count in Counter(p["action"] for p in predictions).items():
                metrics.actions.labels(policy.name, action).inc(count)
        if request.explain:
            explanations = await asyncio.to_thread(explain_locked, request.texts, settings, batcher, classifier)
            predictions = [{**p, "explanation": e} for p, e in zip(predictions, explanations)]
    except Exception as exc:  # noqa: BLE001 (this request alone failed: the batcher isolated it)
        raise RequestError(500, f"prediction failed: {type(exc).__name__}: {exc}") from exc
    return predictions


def explain_locked(
    texts: list[str], settings: Settings, batcher: MicroBatcher, classifier: Classifier
) -> list[dict[str, Any]]:
    with batcher.model_lock:  # the batcher's worker uses the model too
        return explain_classifier(classifier, texts, settings.explain_max_tokens, settings.batch_size)
