"""HTTP service for a trained model (FastAPI), started with one command:

    HATESPEECH_MODEL_DIR=models/model uvicorn --factory hatespeech.serving.service:create_app --port 8000

(or ``hatespeech-serve``, which also refuses a non-loopback address without API keys: :mod:`.serve`).

Endpoints: ``POST /predict`` with ``{"texts": [...]}`` returns ``{"predictions": [{label, score, scores}, ...]}``
in the order given (``"explain": true`` adds each text's token scores, see :mod:`hatespeech.evaluation.explain`);
``GET /`` a demo page; ``GET /model`` (label map, decision rule, training metadata, test metrics); ``GET
/model/card`` the model card; open to all: ``GET /livez``, ``GET /readyz`` (``/health`` is its alias) and ``GET
/metrics`` (Prometheus). With API keys configured every other route needs one (:mod:`.access`); each caller has
a rate limit, and a full queue answers 503 at once (:mod:`.operations`, :mod:`.batching`).

Settings come from the environment (see :class:`ServiceConfig`). The model is loaded once, when the app is
created. Requests are answered by one worker thread that groups the texts of concurrent requests into
micro-batches, so the CPU runs full batches instead of many tiny ones, and each request waits only for
its own group. On SIGTERM uvicorn stops accepting connections and finishes every accepted request before the
worker stops.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hatespeech import PipelineError
from hatespeech.cli import fail
from hatespeech.config import from_env
from hatespeech.evaluation.explain import DEFAULT_MAX_TEXTS, DEFAULT_MAX_TOKENS, explain_classifier
from hatespeech.io import read_json
from hatespeech.model.inference import DEFAULT_BATCH_SIZE, Classifier, resolve_backend
from hatespeech.paths import METADATA_FILE, MODEL_DIR, TEST_METRICS
from hatespeech.serving.access import KeyRing, RateLimiter
from hatespeech.serving.batching import MicroBatcher, QueueFull
from hatespeech.serving.card import CARD_FILE
from hatespeech.serving.inputs import PredictRequest, RequestError, check_texts, parse_request, read_body
from hatespeech.serving.operations import Guard, ServiceMetrics, ServiceMiddleware
from hatespeech.serving.page import form_texts, render_page

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceConfig:
    """Service settings; :meth:`from_env` reads each from ``HATESPEECH_<NAME>`` (e.g. HATESPEECH_MODEL_DIR)."""

    model_dir: str = MODEL_DIR
    backend: str | None = None  # torch | onnx | onnx-int8; None: $HATESPEECH_BACKEND, else torch
    metrics: str = TEST_METRICS  # test metrics shown by GET /model (null if the file is absent)
    max_texts: int = 256  # per request
    max_chars: int = 2000  # per text (a tweet has at most 280)
    batch_size: int = DEFAULT_BATCH_SIZE  # texts per micro-batch
    max_wait_ms: float = 5.0  # how long the worker waits for more requests to fill a micro-batch
    threads: int | None = None  # inference threads; None: the cores other processes leave free (hatespeech/threads.py)
    precision: str | None = None  # torch backend: fp32 | bf16; None: $HATESPEECH_PRECISION, else fp32
    explain_max_texts: int = DEFAULT_MAX_TEXTS  # texts per request that ask for explanations (one pass per token)
    explain_max_tokens: int = DEFAULT_MAX_TOKENS  # tokens scored per explained text
    max_queue_texts: int = 512  # texts waiting for the model; past it, 503 at once (bounds every accepted wait)
    rate_limit: float = 50.0  # requests per second per caller (API key name, else client address); 0: no limit
    rate_burst: int = 100  # requests a caller may send at once before the rate applies
    api_keys_file: str | None = None  # a file of key hashes (hatespeech.serving.access); with none, no keys needed
    api_key_hashes: str | None = None  # the same lines, comma-separated, in the variable itself

    @classmethod
    def from_env(cls, **overrides: Any) -> ServiceConfig:
        return from_env(cls, "HATESPEECH_", **overrides)

    def validate(self) -> None:
        sizes = (self.max_texts, self.max_chars, self.batch_size, self.threads or 1, self.explain_max_texts)
        if min(*sizes, self.explain_max_tokens, self.rate_burst) < 1 or min(self.max_wait_ms, self.rate_limit) < 0:
            raise PipelineError(
                "max_texts, max_chars, batch_size, threads, explain_max_texts, explain_max_tokens and rate_burst "
                "must be at least 1, max_wait_ms and rate_limit not negative"
            )
        if self.max_queue_texts < self.max_texts:
            raise PipelineError(
                f"max_queue_texts ({self.max_queue_texts}) must be at least max_texts ({self.max_texts}): "
                "a full-size request could never be queued"
            )

    def guard(self) -> Guard:
        limiter = RateLimiter(self.rate_limit, self.rate_burst) if self.rate_limit > 0 else None
        return Guard(KeyRing.load(self.api_keys_file, self.api_key_hashes), limiter)


def model_metadata(classifier: Classifier, config: ServiceConfig) -> dict[str, Any]:
    """What GET /model returns: which model is served, how it decides, and how it scored on test."""
    training = read_json(classifier.model_dir / METADATA_FILE, "training metadata", missing_ok=True) or {}
    return {
        "model_dir": str(classifier.model_dir),
        "backend": classifier.backend_name,
        "precision": classifier.precision,
        "labels": dict(enumerate(classifier.labels)),
        "decision_rule": asdict(classifier.rule),
        "normalizer": asdict(classifier.normalizer),  # how texts are cleaned before the model reads them
        "max_length": classifier.max_length,  # tokens: longer texts are truncated, as in training
        "checkpoint": training.get("checkpoint"),
        "data_sha256": training.get("data_sha256"),
        "seed": training.get("seed"),
        "params": training.get("params"),
        "test_metrics": read_json(config.metrics, "test metrics", missing_ok=True),
        "limits": {"max_texts": config.max_texts, "max_chars": config.max_chars},
    }


def model_info(metadata: dict[str, Any]) -> dict[str, str]:
    """The labels of the ``hatespeech_model`` info metric: which model, trained on what, served how."""
    fields = ("model_dir", "backend", "precision", "checkpoint", "data_sha256", "seed")
    return {name: str(metadata.get(name)) for name in fields}


_PREDICT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["texts"],
                    "properties": {
                        "texts": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                        "explain": {"type": "boolean", "default": False, "description": "add token scores"},
                    },
                },
                "example": {"texts": ["have a lovely weekend", "another tweet"], "explain": False},
            }
        },
    }
}


def create_app(config: ServiceConfig | None = None, classifier: Classifier | None = None) -> FastAPI:
    """The FastAPI app; settings from the environment unless ``config`` is given (uvicorn --factory calls this).

    From the environment, a configuration or model error prints one line and exits with status 2 instead of
    a traceback from inside uvicorn. ``classifier`` lets tests share one already loaded model between apps.
    """
    if config is None:
        try:
            return build_app(ServiceConfig.from_env(), classifier)
        except PipelineError as exc:
            raise SystemExit(fail("service", str(exc))) from None
    return build_app(config, classifier)


def build_app(config: ServiceConfig, classifier: Classifier | None = None) -> FastAPI:
    """The FastAPI app for ``config``; errors are raised (see :func:`create_app`)."""
    config.validate()
    guard = config.guard()  # a bad keys file fails here, before the model is loaded
    if classifier is None:
        classifier = Classifier(
            config.model_dir, resolve_backend(config.backend), threads=config.threads, precision=config.precision
        )
    metadata = model_metadata(classifier, config)
    metrics = ServiceMetrics(model_info(metadata))
    batcher = MicroBatcher(
        classifier, config.batch_size, config.max_wait_ms / 1000, config.max_queue_texts, metrics.batch.observe
    )
    metrics.queue.set_function(lambda: batcher.queued_texts)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        batcher.start()
        log.info(
            "serving %s (%s backend); API keys: %s; rate limit: %s",
            classifier.model_dir,
            classifier.backend_name,
            f"{len(guard.keys.hashes)} accepted" if guard.keys else "none (open to anyone who reaches the port)",
            f"{config.rate_limit:g}/s per caller, bursts of {config.rate_burst}" if guard.limiter else "none",
        )
        yield
        batcher.stop()

    app = FastAPI(title="Hate speech / offensive language classifier", lifespan=lifespan)
    app.add_middleware(ServiceMiddleware, guard=guard, metrics=metrics)

    @app.exception_handler(RequestError)
    async def bad_request(request: Request, exc: RequestError) -> JSONResponse:
        return JSONResponse(status_code=exc.status, content={"detail": str(exc)}, headers=exc.headers)

    def explain_locked(texts: list[str]) -> list[dict[str, Any]]:
        with batcher.model_lock:  # the batcher's worker uses the model too
            return explain_classifier(classifier, texts, config.explain_max_tokens, config.batch_size)

    async def answer(request: PredictRequest) -> list[dict[str, Any]]:
        """/predict's work, shared with the demo page: predictions, and explanations if asked for."""
        if request.explain and len(request.texts) > config.explain_max_texts:
            raise RequestError(
                413,
                f"explanations are limited to {config.explain_max_texts} texts per request, got "
                f"{len(request.texts)}: send fewer texts, or leave out explain",
            )
        try:
            future = batcher.submit(request.texts)
        except QueueFull as exc:
            metrics.rejected.labels("queue_full").inc()
            raise RequestError(
                503, f"the service is at capacity ({exc}): retry shortly", {"Retry-After": "1"}
            ) from None
        metrics.texts.observe(len(request.texts))
        try:
            predictions = await asyncio.wrap_future(future)
            if request.explain:
                explanations = await asyncio.to_thread(explain_locked, request.texts)
                predictions = [{**p, "explanation": e} for p, e in zip(predictions, explanations)]
        except Exception as exc:  # noqa: BLE001 (this request alone failed: the batcher isolated it)
            raise RequestError(500, f"prediction failed: {type(exc).__name__}: {exc}") from exc
        return predictions

    @app.post("/predict", openapi_extra=_PREDICT_BODY)
    async def predict(request: Request) -> dict[str, Any]:
        body = await read_body(request, config.max_texts, config.max_chars)
        parsed = parse_request(body, config.max_texts, config.max_chars)
        request.state.texts = len(parsed.texts)  # for the access log
        return {"predictions": await answer(parsed)}

    limits = {
        "max_texts": config.max_texts,
        "max_chars": config.max_chars,
        "explain_max_texts": config.explain_max_texts,
    }

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def demo() -> HTMLResponse:
        return HTMLResponse(render_page(limits))

    @app.post("/", response_class=HTMLResponse, include_in_schema=False)
    async def demo_form(request: Request) -> HTMLResponse:
        texts: list[str] = []
        explain = False
        try:
            body = await read_body(request, config.max_texts, config.max_chars, form=True)
            texts, explain = form_texts(body)
            predictions = await answer(PredictRequest(check_texts(texts, config.max_texts, config.max_chars), explain))
        except (PipelineError, RequestError) as exc:  # a form that is not UTF-8 (400), or what /predict refuses
            status = exc.status if isinstance(exc, RequestError) else 400
            return HTMLResponse(render_page(limits, texts, explain=explain, error=str(exc)), status_code=status)
        return HTMLResponse(render_page(limits, texts, predictions, explain))

    @app.get("/model/card", response_class=PlainTextResponse)
    async def model_card() -> PlainTextResponse:
        """The model card (README.md) of the served model directory, as Markdown."""
        path = classifier.model_dir / CARD_FILE
        if not path.is_file():
            raise RequestError(404, f"{classifier.model_dir} has no model card ({CARD_FILE})")
        return PlainTextResponse(path.read_text(encoding="utf-8"), media_type="text/markdown; charset=utf-8")

    @app.api_route("/livez", methods=["GET", "HEAD"])
    async def livez() -> JSONResponse:
        """200 while the process can answer (restart it if not): the worker thread is running."""
        ok = batcher.alive
        return JSONResponse(status_code=200 if ok else 503, content={"status": "alive" if ok else "worker stopped"})

    @app.api_route("/readyz", methods=["GET", "HEAD"])
    @app.api_route("/health", methods=["GET", "HEAD"])
    async def readyz() -> JSONResponse:
        """200 once the model has answered its warm-up prediction (send traffic), else 503."""
        if batcher.ready:
            return JSONResponse({"status": "ready"})
        status = "warming up" if batcher.alive else "worker stopped"
        return JSONResponse(status_code=503, content={"status": status})

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.api_route("/model", methods=["GET", "HEAD"])
    async def model() -> dict[str, Any]:
        return metadata

    return app
