"""The service's shared objects, as FastAPI dependencies: each route names what it needs with an ``Annotated``
alias (``settings: SettingsDep``) instead of reaching for globals. :func:`hatespeech.service.main.build_app`
puts them on ``app.state`` once, when the app is created."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from hatespeech.data.corrections import CorrectionStore
from hatespeech.model.inference import Classifier
from hatespeech.service.batching import MicroBatcher
from hatespeech.service.inputs import parse_request, read_body
from hatespeech.service.operations import ServiceMetrics
from hatespeech.service.policies import PolicyChoice
from hatespeech.service.schemas import ModelInfo, PredictRequest
from hatespeech.service.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_classifier(request: Request) -> Classifier:
    return request.app.state.classifier


def get_batcher(request: Request) -> MicroBatcher:
    return request.app.state.batcher


def get_metrics(request: Request) -> ServiceMetrics:
    return request.app.state.metrics


def get_corrections(request: Request) -> CorrectionStore:
    return request.app.state.corrections


def get_policy_choice(request: Request) -> PolicyChoice:
    return request.app.state.policy_choice


def get_model_info(request: Request) -> ModelInfo:
    return request.app.state.model_info


def get_caller(request: Request) -> str | None:
    """The API key's name the middleware identified (None when the service takes no keys)."""
    return getattr(request.state, "caller", None)


SettingsDep = Annotated[Settings, Depends(get_settings)]
ClassifierDep = Annotated[Classifier, Depends(get_classifier)]
BatcherDep = Annotated[MicroBatcher, Depends(get_batcher)]
MetricsDep = Annotated[ServiceMetrics, Depends(get_metrics)]
ModelInfoDep = Annotated[ModelInfo, Depends(get_model_info)]
PolicyChoiceDep = Annotated[PolicyChoice, Depends(get_policy_choice)]
CorrectionsDep = Annotated[CorrectionStore, Depends(get_corrections)]
CallerDep = Annotated[str | None, Depends(get_caller)]


async def predict_request(request: Request, settings: SettingsDep) -> PredictRequest:
    """A /predict body read within the size any valid request can have, then checked against the limits."""
    body = await read_body(request, settings.max_texts, settings.max_chars)
    parsed = parse_request(body, settings.max_texts, settings.max_chars)
    request.state.texts = len(parsed.texts)  # for the access log
    return parsed


PredictBody = Annotated[PredictRequest, Depends(predict_request)]
