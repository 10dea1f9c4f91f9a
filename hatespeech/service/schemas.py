"""The service's request and response bodies, as Pydantic models: the OpenAPI page (``/docs``) is generated from
them, examples included. The limits (texts per request, characters per text) are the running service's settings,
checked by :mod:`.inputs` with messages that say what to fix."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class PredictRequest(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={"examples": [{"texts": ["have a lovely weekend", "another tweet"], "explain": False}]},
    )

    texts: list[str] = Field(min_length=1, description="the texts to classify, answered in this order")
    explain: bool = Field(False, description="add each text's token scores (occlusion): slower, fewer texts")


class TokenScore(BaseModel):
    token: str
    score: float = Field(description="how much the label's probability drops without this token")


class Explanation(BaseModel):
    method: str
    label: str = Field(description="the label explained")
    tokens: list[TokenScore]
    truncated: bool = Field(description="more tokens than the service scores: only the first ones are")


class Prediction(BaseModel):
    label: str = Field(description="the label the model's decision rule picks", examples=["neither"])
    score: float = Field(description="the probability of that label", examples=[0.93])
    scores: dict[str, float] = Field(description="every class's probability")
    explanation: Explanation | None = Field(None, description="only when the request asked for it")


class PredictResponse(BaseModel):
    predictions: list[Prediction]


class Status(BaseModel):
    status: str = Field(examples=["ready"])


class ErrorDetail(BaseModel):
    detail: str = Field(description="what went wrong, and for a 4xx what to fix")


class ModelInfo(BaseModel):
    """Which model is served, how it decides, and how it scored on test."""

    model_config = ConfigDict(protected_namespaces=())

    model_dir: str
    backend: str
    precision: str | None
    labels: dict[int, str]
    decision_rule: dict[str, Any]
    normalizer: dict[str, Any] = Field(description="how texts are cleaned before the model reads them")
    max_length: int = Field(description="tokens: longer texts are truncated, as in training")
    checkpoint: str | None
    data_sha256: str | None
    seed: int | None
    params: dict[str, Any] | None
    test_metrics: dict[str, Any] | None
    limits: dict[str, int]


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorDetail, "description": description}
    for status, description in {
        400: "not JSON, or not UTF-8",
        401: "no API key (when keys are configured)",
        403: "an unknown API key",
        413: "too many texts, a text too long, or a body larger than any valid request",
        422: "a body of the wrong shape",
        429: "the caller's rate limit",
        503: "the service is at capacity: retry after the Retry-After header's seconds",
    }.items()
}
