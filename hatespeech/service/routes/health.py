"""Probes and metrics, open to all (no key, no rate limit): ``/livez``, ``/readyz`` (or ``/health``), ``/metrics``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hatespeech.service.deps import BatcherDep, MetricsDep
from hatespeech.service.schemas import Status

router = APIRouter(tags=["operations"])
PROBE = {"model": Status}


# HEAD answers as GET does (load balancers probe with it); the schema lists GET once per path.
@router.get("/livez", response_model=Status, responses={503: PROBE})
@router.head("/livez", include_in_schema=False)
async def livez(batcher: BatcherDep) -> JSONResponse:
    """200 while the process can answer (restart it if not): the worker thread is running."""
    ok = batcher.alive
    return JSONResponse(status_code=200 if ok else 503, content={"status": "alive" if ok else "worker stopped"})


@router.get("/readyz", response_model=Status, responses={503: PROBE})
@router.head("/readyz", include_in_schema=False)
@router.api_route("/health", methods=["GET", "HEAD"], include_in_schema=False)  # /readyz's older name
async def readyz(batcher: BatcherDep) -> JSONResponse:
    """200 once the model has answered its warm-up prediction (send traffic), else 503."""
    if batcher.ready:
        return JSONResponse({"status": "ready"})
    status = "warming up" if batcher.alive else "worker stopped"
    return JSONResponse(status_code=503, content={"status": status})


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(metrics: MetricsDep) -> Response:
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
