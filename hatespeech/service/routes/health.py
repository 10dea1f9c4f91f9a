"""Probes and metrics, open to all (no key, no rate limit): ``/livez``, ``/readyz`` (or ``/health``), ``/metrics``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hatespeech.service.deps import BatcherDep, MetricsDep
from hatespeech.service.schemas import Status

router = APIRouter(tags=["operations"])
PROBE = {"model": Status}


@router.api_route("/livez", methods=["GET", "HEAD"], response_model=Status, responses={503: PROBE})
async def livez(batcher: BatcherDep) -> JSONResponse:
    """200 while the process can answer (restart it if not): the worker thread is running."""
    ok = batcher.alive
    return JSONResponse(status_code=200 if ok else 503, content={"status": "alive" if ok else "worker stopped"})


@router.api_route("/readyz", methods=["GET", "HEAD"], response_model=Status, responses={503: PROBE})
@router.api_route("/health", methods=["GET", "HEAD"], response_model=Status, responses={503: PROBE})
async def readyz(batcher: BatcherDep) -> JSONResponse:
    """200 once the model has answered its warm-up prediction (send traffic), else 503."""
    if batcher.ready:
        return JSONResponse({"status": "ready"})
    status = "warming up" if batcher.alive else "worker stopped"
    return JSONResponse(status_code=503, content={"status": status})


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(metrics: MetricsDep) -> Response:
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
