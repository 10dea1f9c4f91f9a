"""The service's one settings class: each field from ``HATESPEECH_<NAME>`` (e.g. HATESPEECH_MODEL_DIR), or given in
code (tests, ``hatespeech-serve``). A bad value is one :class:`PipelineError` naming the variable."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hatespeech import PipelineError
from hatespeech.evaluation.explain import DEFAULT_MAX_TEXTS, DEFAULT_MAX_TOKENS
from hatespeech.model.inference import DEFAULT_BATCH_SIZE
from hatespeech.paths import MODEL_DIR, TEST_METRICS

ENV_PREFIX = "HATESPEECH_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid")

    model_dir: str = Field(MODEL_DIR, description="the model directory to serve")
    backend: Literal["torch", "onnx", "onnx-int8"] | None = Field(None, description="None: torch")
    metrics: str = Field(TEST_METRICS, description="test metrics GET /model shows (null if the file is absent)")
    max_texts: int = Field(256, ge=1, description="texts per request")
    max_chars: int = Field(2000, ge=1, description="characters per text (a tweet has at most 280)")
    batch_size: int = Field(DEFAULT_BATCH_SIZE, ge=1, description="texts per micro-batch")
    max_wait_ms: float = Field(5.0, ge=0, description="how long the worker waits for more requests to fill a batch")
    threads: int | None = Field(None, ge=1, description="inference threads; None: the cores other processes leave")
    precision: Literal["fp32", "bf16"] | None = Field(None, description="torch backend; None: fp32")
    explain_max_texts: int = Field(DEFAULT_MAX_TEXTS, ge=1, description="texts per request asking for explanations")
    explain_max_tokens: int = Field(DEFAULT_MAX_TOKENS, ge=1, description="tokens scored per explained text")
    max_queue_texts: int = Field(512, ge=1, description="texts waiting for the model; past it, 503 at once")
    rate_limit: float = Field(50.0, ge=0, description="requests per second per caller (key name, else address); 0: off")
    rate_burst: int = Field(100, ge=1, description="requests a caller may send at once before the rate applies")
    policy: str | None = Field(None, description="the default moderation policy; None: the model's (policies.json)")
    corrections: str = Field(
        "feedback/corrections.db",
        description="where comments:suggestscore stores corrections: a SQLite file (opened at the first one) or a "
        "postgresql:// URL shared by several replicas",
    )
    api_keys_file: str | None = Field(None, description="a file of key hashes (service.access); none: no keys needed")
    api_key_hashes: str | None = Field(None, description="the same lines, comma-separated, in the variable itself")

    @model_validator(mode="after")
    def _queue_holds_a_request(self) -> Self:
        if self.max_queue_texts < self.max_texts:
            raise ValueError(
                f"max_queue_texts ({self.max_queue_texts}) must be at least max_texts ({self.max_texts}): "
                "a full-size request could never be queued"
            )
        return self

    @classmethod
    def load(cls, **values: Any) -> Settings:
        """The settings from the environment, ``values`` taking precedence; a bad one is a PipelineError."""
        try:
            return cls(**values)
        except ValidationError as exc:
            raise PipelineError(describe(exc)) from None


def describe(exc: ValidationError) -> str:
    """A validation error as one line per bad setting, named as its environment variable."""
    lines = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        name = f"{ENV_PREFIX}{field.upper()}" if field else "settings"
        message = error["msg"].removeprefix("Value error, ")
        got = f" (got {error['input']!r})" if field else ""
        lines.append(f"{name}: {message[:1].lower()}{message[1:]}{got}")
    return "; ".join(lines)
