"""What an operator sees and what guards the door: Prometheus metrics, JSON access logs with request ids, and the
ASGI middleware that checks keys and rate limits before a request reaches the app.

Everything here runs once per request in front of the routes (a plain ASGI middleware, not Starlette's
BaseHTTPMiddleware, which copies every response body through a task).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from hatespeech.service.access import KeyRing, RateLimiter, presented_key, retry_after
from hatespeech.service.perspective import error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Open to anyone who reaches the port: what load balancers and Prometheus call. Everything else needs a key.
OPEN_PATHS = frozenset({"/livez", "/readyz", "/health", "/metrics", "/$discovery/rest"})
PERSPECTIVE_PREFIX = "/v1alpha1/"  # Perspective's API: its clients read errors in Google's shape
# Route labels for the metrics: the known paths, and one label for the rest (an unbounded label set would grow
# a time series per path a scanner tries).
ROUTES = frozenset({"/", "/predict", "/model", "/model/card", "/docs", "/openapi.json"}) | OPEN_PATHS
ROUTES |= {f"{PERSPECTIVE_PREFIX}comments:analyze", f"{PERSPECTIVE_PREFIX}comments:suggestscore"}
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

access_log = logging.getLogger("hatespeech.access")


def json_access_log(stream: Any = None) -> logging.Logger:
    """The access logger, writing each record's message (a JSON object) as one line on ``stream`` (stderr)."""
    if not access_log.handlers:
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False
    return access_log


class ServiceMetrics:
    """The service's Prometheus metrics, in a registry of its own (one per app: tests build several)."""

    def __init__(self, model: dict[str, str]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "hatespeech_requests", "HTTP requests answered", ["route", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "hatespeech_request_duration_seconds",
            "Time from a request's arrival to its answer",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.in_progress = Gauge("hatespeech_requests_in_progress", "Requests being answered", registry=self.registry)
        self.texts = Histogram(
            "hatespeech_texts_per_request",
            "Texts in each accepted /predict request",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
            registry=self.registry,
        )
        self.batch = Histogram(
            "hatespeech_batch_texts",
            "Texts in each group of requests the model ran together (length-sorted into batches)",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
            registry=self.registry,
        )
        self.actions = Counter(
            "hatespeech_actions",
            "Texts answered, by moderation policy and action (a drifting flag or review share shows here first)",
            ["policy", "action"],
            registry=self.registry,
        )
        self.queue = Gauge("hatespeech_queue_texts", "Texts waiting for the model", registry=self.registry)
        self.rejected = Counter(
            "hatespeech_rejected_requests",
            "Requests refused before prediction, by reason",
            ["reason"],
            registry=self.registry,
        )
        for reason in ("unauthorized", "forbidden", "rate_limited", "too_large", "queue_full"):
            self.rejected.labels(reason)  # present at 0 from the start: a rate() needs the series to exist
        Info("hatespeech_model", "The served model", registry=self.registry).info(model)


@dataclass
class Guard:
    """What the middleware enforces: keys (None: open) and a rate limit (None: unlimited)."""

    keys: KeyRing | None
    limiter: RateLimiter | None


def _json_response(
    status: int, detail: str, headers: list[tuple[bytes, bytes]], path: str = ""
) -> tuple[Message, Message]:
    """A refusal: ``{"detail": ...}``, or Google's error shape on Perspective's paths."""
    shape = error_body(status, detail) if path.startswith(PERSPECTIVE_PREFIX) else {"detail": detail}
    body = json.dumps(shape).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers],
    }
    return start, {"type": "http.response.body", "body": body}


class ServiceMiddleware:
    """Request id, key check (401 none, 403 unknown), rate limit (429), metrics and one JSON access-log line per
    request, around ``app``. The caller a limit counts against is the key's name, else the client address."""

    def __init__(self, app: ASGIApp, guard: Guard, metrics: ServiceMetrics) -> None:
        self.app, self.guard, self.metrics = app, guard, metrics
        self.log = json_access_log()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        given_id = headers.get("x-request-id", "")
        request_id = given_id if _REQUEST_ID.fullmatch(given_id) else uuid.uuid4().hex
        path: str = scope["path"]
        route = path if path in ROUTES else "other"
        address = scope["client"][0] if scope.get("client") else "unknown"
        state: dict[str, Any] = {"status": 500, "caller": None}
        scope.setdefault("state", {})  # the route records its text count here (request.state.texts)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        self.metrics.in_progress.inc()
        try:
            refusal = self._refusal(path, headers, scope.get("query_string", b""), address, state)
            if refusal is None:
                scope["state"]["caller"] = state["caller"]  # the key's name, for routes (deps.CallerDep)
                await self.app(scope, receive, send_with_id)
            else:
                for message in refusal:
                    await send_with_id(message)
        finally:
            self.metrics.in_progress.dec()
            elapsed = time.perf_counter() - started
            status = state["status"]
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.latency.labels(route).observe(elapsed)
            if status == 413:
                self.metrics.rejected.labels("too_large").inc()
            if path not in OPEN_PATHS or status != 200:  # probes and scrapes come every few seconds: not logged
                self._log(scope, request_id, path, status, elapsed, address, state["caller"])

    def _log(
        self, scope: Scope, request_id: str, path: str, status: int, elapsed: float, address: str, caller: str | None
    ) -> None:
        self.log.info(
            json.dumps(
                {
                    "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": path,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "client": address,
                    "caller": caller,
                    "texts": scope["state"].get("texts"),
                }
            )
        )

    def _refusal(
        self, path: str, headers: dict[str, str], query: bytes, address: str, state: dict[str, Any]
    ) -> tuple[Message, Message] | None:
        """The answer that refuses this request before the app sees it, or None to let it through."""
        if path in OPEN_PATHS:
            return None
        caller = address
        if self.guard.keys is not None:
            key = presented_key(headers, query)
            if key is None:
                self.metrics.rejected.labels("unauthorized").inc()
                detail = "an API key is required: send 'Authorization: Bearer <key>', 'X-API-Key: <key>' or ?key=<key>"
                return _json_response(401, detail, [(b"www-authenticate", b"Bearer")], path)
            name = self.guard.keys.identify(key)
            if name is None:
                self.metrics.rejected.labels("forbidden").inc()
                return _json_response(403, "the API key is not valid", [], path)
            caller = state["caller"] = name
        if self.guard.limiter is not None:
            wait = self.guard.limiter.acquire(caller)
            if wait > 0:
                self.metrics.rejected.labels("rate_limited").inc()
                detail = f"rate limit: at most {self.guard.limiter.rate:g} requests per second per caller"
                return _json_response(429, detail, [(b"retry-after", retry_after(wait).encode())], path)
        return None
