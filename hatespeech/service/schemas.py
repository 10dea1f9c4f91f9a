"""The service's request and response bodies, as Pydantic models: the OpenAPI page (``/docs``) is generated from
them, examples included. The limits (texts per request, characters per text) are the running service's settings,
checked by :mod:`.inputs` with messages that say what to fix."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class PredictRequest(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [{"texts": ["have a lovely weekend", "another tweet"], "explain": False, "policy": "strict"}]
        },
    )

    texts: list[str] = Field(min_length=1, description="the texts to classify, answered in this order")
    explain: bool = Field(False, description="add each text's token scores (occlusion): slower, fewer texts")
    policy: str | None = Field(
        None,
        description="the moderation policy that picks each text's action; default: the API key's, else the service's",
    )


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
    score: float = Field(description="the calibrated probability of that label", examples=[0.93])
    scores: dict[str, float] = Field(description="every class's calibrated probability")
    action: Literal["allow", "review", "flag"] | None = Field(
        None, description="what the policy does with the text (absent when the model has no policies)"
    )
    policy: str | None = Field(None, description="the policy that picked the action", examples=["balanced"])
    reason: str | None = Field(None, description="the class whose score reached the flag or review threshold")
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
    calibration: dict[str, Any] = Field(description="the map behind the scores; kind 'none': scores uncalibrated")
    scores: str = Field(description="whether the scores are calibrated, in words")
    policies: dict[str, Any] | None = Field(description="each policy's thresholds; null: the model has none")
    default_policy: str | None = Field(description="the policy of a request that names none (and whose key names none)")
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
