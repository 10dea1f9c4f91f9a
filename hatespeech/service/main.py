"""HTTP service for a trained model (FastAPI), started with one command:

    HATESPEECH_MODEL_DIR=models/model uvicorn --factory hatespeech.service.main:create_app --port 8000

(or ``hatespeech-serve``, which also refuses a non-loopback address without API keys: :mod:`.serve`).

The routes (:mod:`.routes`): ``POST /predict`` (calibrated scores, the label, and the action of a moderation policy
chosen per request, per API key or for the service: :mod:`.policies`), the demo page ``/``, ``GET /model`` and
``/model/card``, the probes and ``/metrics``; their bodies are :mod:`.schemas`, the settings
:class:`.settings.Settings` (from ``HATESPEECH_*``), the shared objects :mod:`.deps`. The model is loaded once, when
the app is created; one worker thread answers every request, grouping the texts of concurrent requests into
micro-batches (:mod:`.batching`). With API keys configured every route but the probes needs one, each caller has a
rate limit (:mod:`.access`, :mod:`.operations`). On SIGTERM uvicorn finishes every accepted request before the
worker stops.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from hatespeech import PipelineError
from hatespeech.cli import fail
from hatespeech.data.corrections import CorrectionStore
from hatespeech.model.inference import Classifier, resolve_backend
from hatespeech.service.access import KeyRing, RateLimiter
from hatespeech.service.batching import MicroBatcher
from hatespeech.service.inputs import RequestError
from hatespeech.service.operations import Guard, ServiceMetrics, ServiceMiddleware
from hatespeech.service.perspective import PerspectiveError
from hatespeech.service.policies import PolicyChoice
from hatespeech.service.routes import health, model, page, perspective, predict
from hatespeech.service.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, classifier: Classifier | None = None) -> FastAPI:
    """The app; settings from the environment unless given (``uvicorn --factory`` calls this). From the
    environment, a settings or model error prints one line and exits with status 2, not a traceback from inside
    uvicorn. ``classifier`` lets tests share one loaded model between apps."""
    if settings is not None:
        return build_app(settings, classifier)
    try:
        return build_app(Settings.load(), classifier)
    except PipelineError as exc:
        raise SystemExit(fail("service", str(exc))) from None


def build_app(settings: Settings, classifier: Classifier | None = None) -> FastAPI:
    """The app for ``settings``; errors are raised. A bad keys file fails before the model is loaded."""
    limiter = RateLimiter(settings.rate_limit, settings.rate_burst) if settings.rate_limit > 0 else None
    guard = Guard(KeyRing.load(settings.api_keys_file, settings.api_key_hashes), limiter)
    if classifier is None:
        backend = resolve_backend(settings.backend)
        classifier = Classifier(settings.model_dir, backend, threads=settings.threads, precision=settings.precision)
    choice = PolicyChoice(classifier.policies, guard.keys.policies if guard.keys else {}, settings.policy)
    info = model.model_info(classifier, settings, choice.default)
    metrics = ServiceMetrics(model.info_labels(info))
    batcher = MicroBatcher(
        classifier, settings.batch_size, settings.max_wait_ms / 1000, settings.max_queue_texts, metrics.batch.observe
    )
    metrics.queue.set_function(lambda: batcher.queued_texts)

    app = FastAPI(title="Hate speech / offensive language classifier", lifespan=lifespan)
    app.state.settings, app.state.guard, app.state.classifier = settings, guard, classifier
    app.state.batcher, app.state.metrics, app.state.model_info = batcher, metrics, info
    app.state.policy_choice, app.state.corrections = choice, CorrectionStore(settings.corrections)
    app.add_middleware(ServiceMiddleware, guard=guard, metrics=metrics)
    app.add_exception_handler(RequestError, request_error)
    app.add_exception_handler(PerspectiveError, perspective.perspective_error)
    for router in (predict.router, perspective.router, page.router, model.router, health.router):
        app.include_router(router)
    return app


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings, guard, classifier = app.state.settings, app.state.guard, app.state.classifier
    app.state.batcher.start()
    log.info(
        "serving %s (%s backend); API keys: %s; rate limit: %s",
        classifier.model_dir,
        classifier.backend_name,
        f"{len(guard.keys.hashes)} accepted" if guard.keys else "none (open to anyone who reaches the port)",
        f"{settings.rate_limit:g}/s per caller, bursts of {settings.rate_burst}" if guard.limiter else "none",
    )
    yield
    app.state.batcher.stop()
    app.state.corrections.close()


async def request_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestError)
    return JSONResponse(status_code=exc.status, content={"detail": str(exc)}, headers=exc.headers)
