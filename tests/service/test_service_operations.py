"""The service beyond localhost: API keys, rate limits, the bounded queue, probes, metrics, access logs, and a
real `hatespeech-serve` process draining its requests on SIGTERM, on the tiny fine-tuned model."""

from __future__ import annotations

import json
import logging
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from helpers import free_port, service_client, tool_env, wait_until_ready

from hatespeech import PipelineError
from hatespeech.model.inference import Classifier
from hatespeech.service.access import KeyRing, RateLimiter, key_hash, new_key, presented_key
from hatespeech.service.access import main as access_main
from hatespeech.service.serve import main as serve_main

TEXTS = ["sunny garden coffee", "zorgon blapper the"]


@pytest.fixture(scope="module")
def classifier(trained_model) -> Classifier:
    return Classifier(trained_model.model_dir, "torch", threads=1)


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A keys file with two callers; the keys themselves stay in this process."""
    path = tmp_path_factory.mktemp("keys") / "keys.txt"
    return path, {name: new_key(str(path), name) for name in ("team-a", "team-b")}


class Gated:
    """The real classifier behind a gate: ``predict`` waits until the test opens it (after ``free_calls`` calls),
    so a test can hold the model busy, or hold its warm-up, for as long as it needs."""

    def __init__(self, classifier: Classifier, free_calls: int) -> None:
        self._classifier, self.free_calls = classifier, free_calls
        self.gate, self.entered = threading.Event(), threading.Event()

    def __getattr__(self, name: str):
        return getattr(self._classifier, name)

    def predict(self, texts: list[str], batch_size: int = 32) -> list[dict]:
        if self.free_calls > 0:
            self.free_calls -= 1
        else:
            self.entered.set()
            assert self.gate.wait(30), "the test never opened the gate"
        return self._classifier.predict(texts, batch_size)


def metric(client, name: str) -> float:
    """The value of one sample (``name`` with its labels, as Prometheus prints it) of GET /metrics."""
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


# --- keys --------------------------------------------------------------------------------------------------


def test_keys_file_holds_only_private_hashes_and_names(keys):
    path, issued = keys
    text = path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert all(key not in text for key in issued.values())
    assert text.splitlines() == [f"{key_hash(issued['team-a'])} team-a", f"{key_hash(issued['team-b'])} team-b"]
    ring = KeyRing.load(str(path), None)
    assert ring.identify(issued["team-b"]) == "team-b" and ring.identify(issued["team-b"] + "x") is None
    with pytest.raises(PipelineError, match="line 1 is not 'sha256:<64 hex digits> \\[name\\] \\[policy=<policy>\\]'"):
        KeyRing.parse([issued["team-a"]], "keys.txt")  # a key pasted where its hash belongs
    with pytest.raises(PipelineError, match="holds no key hashes"):
        KeyRing.parse(["# nobody yet"], "keys.txt")
    assert presented_key({"authorization": "Bearer abc"}) == "abc" == presented_key({"x-api-key": "abc"})
    assert presented_key({"authorization": "Basic abc"}) is None


def test_new_key_command_prints_the_key_once(tmp_path, capsys):
    assert access_main(["new-key", "--file", str(tmp_path / "k.txt"), "--name", "ops"]) == 0
    out, err = capsys.readouterr()
    key = out.strip()
    assert key.startswith("hs_") and len(key) > 40 and key not in err
    assert KeyRing.load(str(tmp_path / "k.txt"), None).identify(key) == "ops"
    assert access_main(["new-key", "--file", str(tmp_path / "k.txt"), "--name", "bad name"]) == 2


def test_keys_guard_every_route_but_probes_and_metrics(classifier, keys, tmp_path):
    path, issued = keys
    with service_client(classifier, tmp_path, api_keys_file=str(path)) as client:
        for method, route in (("post", "/predict"), ("get", "/"), ("get", "/model/card"), ("get", "/model")):
            response = getattr(client, method)(route, json={"texts": TEXTS}) if method == "post" else client.get(route)
            assert response.status_code == 401, route
            assert response.headers["www-authenticate"] == "Bearer" and "API key is required" in response.text
        wrong = client.post("/predict", json={"texts": TEXTS}, headers={"Authorization": "Bearer hs_guess"})
        assert wrong.status_code == 403 and wrong.json() == {"detail": "the API key is not valid"}
        for headers in ({"Authorization": f"Bearer {issued['team-a']}"}, {"X-API-Key": issued["team-b"]}):
            assert client.post("/predict", json={"texts": TEXTS}, headers=headers).status_code == 200
        for route in ("/livez", "/readyz", "/health", "/metrics"):
            assert client.get(route).status_code == 200, route
        assert metric(client, 'hatespeech_rejected_requests_total{reason="unauthorized"}') == 4
        assert metric(client, 'hatespeech_rejected_requests_total{reason="forbidden"}') == 1


# --- limits ------------------------------------------------------------------------------------------------


def test_rate_limiter_is_a_token_bucket_per_caller():
    limiter = RateLimiter(rate=2, burst=3)
    assert [limiter.acquire("a", now=0) for _ in range(4)] == [0, 0, 0, 0.5]
    assert limiter.acquire("b", now=0) == 0  # another caller has its own bucket
    assert limiter.acquire("a", now=0.25) == pytest.approx(0.25) and limiter.acquire("a", now=0.5) == 0


def test_rate_limit_answers_429_with_retry_after_per_key(classifier, keys, tmp_path):
    path, issued = keys
    with service_client(classifier, tmp_path, api_keys_file=str(path), rate_limit=0.5, rate_burst=2) as client:
        a, b = ({"X-API-Key": issued[name]} for name in ("team-a", "team-b"))
        statuses = [client.post("/predict", json={"texts": TEXTS}, headers=a).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        refused = client.post("/predict", json={"texts": TEXTS}, headers=a)
        assert refused.status_code == 429 and refused.headers["retry-after"] == "2"
        assert "at most 0.5 requests per second per caller" in refused.json()["detail"]
        assert client.post("/predict", json={"texts": TEXTS}, headers=b).status_code == 200
        assert client.get("/readyz").status_code == 200  # probes are never limited
        assert metric(client, 'hatespeech_rejected_requests_total{reason="rate_limited"}') == 2


def test_full_queue_answers_503_at_once_and_the_accepted_requests_are_answered(classifier, tmp_path):
    gated = Gated(classifier, free_calls=1)  # the warm-up passes; the first request holds the model
    settings = {"max_texts": 4, "max_queue_texts": 4, "batch_size": 4, "max_wait_ms": 0, "rate_limit": 0}
    with service_client(gated, tmp_path, **settings) as client, ThreadPoolExecutor(2) as pool:
        busy = pool.submit(client.post, "/predict", json={"texts": TEXTS[:1]})
        assert gated.entered.wait(30)
        queued = pool.submit(client.post, "/predict", json={"texts": TEXTS * 2})  # 4 texts: the queue is full
        deadline = time.monotonic() + 30
        while metric(client, "hatespeech_queue_texts") < 4:
            assert time.monotonic() < deadline, "the second request never reached the queue"
        started = time.monotonic()
        refused = client.post("/predict", json={"texts": TEXTS[:1]})
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert "at capacity" in refused.json()["detail"] and time.monotonic() - started < 5
        gated.gate.set()
        assert busy.result(30).status_code == 200 and queued.result(30).status_code == 200
        assert len(queued.result().json()["predictions"]) == 4
        assert metric(client, 'hatespeech_rejected_requests_total{reason="queue_full"}') == 1
        assert metric(client, "hatespeech_queue_texts") == 0


def test_a_body_past_the_limit_is_413_and_counted(classifier, tmp_path):
    with service_client(classifier, tmp_path, max_texts=2, max_chars=10, max_queue_texts=2) as client:
        response = client.post("/predict", content=b"x" * 1000, headers={"content-type": "application/json"})
        assert response.status_code == 413
        assert metric(client, 'hatespeech_rejected_requests_total{reason="too_large"}') == 1


def test_settings_that_cannot_work_are_refused(classifier, tmp_path):
    with pytest.raises(PipelineError, match=r"max_queue_texts \(8\) must be at least max_texts \(16\)"):
        with service_client(classifier, tmp_path, max_texts=16, max_queue_texts=8):
            pass
    with pytest.raises(PipelineError, match="cannot read the API keys file"):
        with service_client(classifier, tmp_path, api_keys_file=str(tmp_path / "missing.txt")):
            pass


# --- probes, metrics, logs ---------------------------------------------------------------------------------


def test_ready_only_after_the_warm_up_prediction(classifier, tmp_path):
    gated = Gated(classifier, free_calls=0)  # holds the warm-up itself
    with service_client(gated, tmp_path) as client:
        assert gated.entered.wait(30)
        assert client.get("/livez").status_code == 200
        for route in ("/readyz", "/health"):
            response = client.get(route)
            assert response.status_code == 503 and response.json() == {"status": "warming up"}
        gated.gate.set()
        deadline = time.monotonic() + 30
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "never ready after the warm-up"
        assert client.get("/health").json() == {"status": "ready"}


def test_metrics_move_with_traffic_and_name_the_model(classifier, tmp_path):
    with service_client(classifier, tmp_path, rate_limit=0) as client:
        route = 'hatespeech_requests_total{method="POST",route="/predict",status="200"}'
        for _ in range(3):
            assert client.post("/predict", json={"texts": TEXTS}).status_code == 200
        assert client.post("/predict", json={"texts": []}).status_code == 422
        assert client.get("/no/such/page").status_code == 404
        assert metric(client, route) == 3
        assert metric(client, 'hatespeech_requests_total{method="POST",route="/predict",status="422"}') == 1
        assert metric(client, 'hatespeech_requests_total{method="GET",route="other",status="404"}') == 1
        assert metric(client, "hatespeech_texts_per_request_sum") == 6
        assert metric(client, "hatespeech_batch_texts_sum") == 6  # the warm-up is no micro-batch
        assert metric(client, 'hatespeech_request_duration_seconds_count{route="/predict"}') == 4
        text = client.get("/metrics").text
        assert 'hatespeech_model_info{backend="torch"' in text and f'model_dir="{classifier.model_dir}"' in text


def test_access_log_is_json_with_the_request_id_echoed(classifier, keys, tmp_path, caplog):
    path, issued = keys
    with (
        caplog.at_level(logging.INFO, logger="hatespeech.access"),
        service_client(classifier, tmp_path, api_keys_file=str(path)) as client,
    ):
        logging.getLogger("hatespeech.access").addHandler(caplog.handler)
        try:
            given = client.post(
                "/predict", json={"texts": TEXTS}, headers={"X-API-Key": issued["team-a"], "X-Request-ID": "abc-123"}
            )
            made = client.post("/predict", json={"texts": TEXTS}, headers={"X-Request-ID": "bad id\x7f"})
        finally:
            logging.getLogger("hatespeech.access").removeHandler(caplog.handler)
    assert given.headers["x-request-id"] == "abc-123" and len(made.headers["x-request-id"]) == 32
    lines = [json.loads(record.getMessage()) for record in caplog.records if record.name == "hatespeech.access"]
    first, second = lines[-2:]
    assert first["request_id"] == "abc-123" and first["status"] == 200 and first["caller"] == "team-a"
    assert first["texts"] == 2 and first["path"] == "/predict" and first["duration_ms"] > 0
    assert second["request_id"] == made.headers["x-request-id"] and second["status"] == 401
    assert not any(key in caplog.text for key in issued.values())


def test_serve_refuses_a_network_address_without_keys(monkeypatch, capsys):
    for name in ("HATESPEECH_API_KEYS_FILE", "HATESPEECH_API_KEY_HASHES"):
        monkeypatch.delenv(name, raising=False)
    assert serve_main(["--host", "0.0.0.0"]) == 2
    assert "--host 0.0.0.0 is reachable from other machines, and no API keys are configured" in capsys.readouterr().err


# --- a real hatespeech-serve process ------------------------------------------------------------------------


@pytest.mark.slow  # a real server process
def test_sigterm_answers_every_accepted_request_then_exits_and_logs_no_key(trained_model, keys, tmp_path):
    path, issued = keys
    port = free_port()
    env = {
        **tool_env(),
        "HATESPEECH_MODEL_DIR": str(trained_model.model_dir),
        "HATESPEECH_THREADS": "1",
        "HATESPEECH_API_KEYS_FILE": str(path),
        "HATESPEECH_RATE_LIMIT": "0",
        "HATESPEECH_EXPLAIN_MAX_TEXTS": "64",
        "HATESPEECH_EXPLAIN_MAX_TOKENS": "128",
        "HATESPEECH_MAX_QUEUE_TEXTS": "4096",
    }
    log_path = tmp_path / "server.log"
    command = [sys.executable, "-m", "hatespeech.service.serve", "--host", "127.0.0.1", "--port", str(port)]
    base, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {issued['team-a']}"}
    long_texts = [" ".join(["zorgon blapper sunny garden"] * 20)] * 256  # about 128 tokens each
    bodies = [{"texts": long_texts[:64], "explain": True}] + [{"texts": long_texts}] * 12
    release = threading.Event()

    def held(body: dict):
        """The body, all but its last byte until ``release``: the request is accepted and in flight until then."""
        payload = json.dumps(body).encode()
        yield payload[:-1]
        release.wait(60)
        yield payload[-1:]

    with open(log_path, "w") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_ready(base, server, log_path)
            httpx.get(f"{base}/model", headers={"X-API-Key": issued["team-b"]})
            with (
                ThreadPoolExecutor(13) as pool,
                httpx.Client(base_url=base, headers=headers, timeout=120) as client,
                httpx.Client(base_url=base) as probe,
                httpx.Client(base_url=base, limits=httpx.Limits(max_keepalive_connections=0)) as fresh,
            ):

                def send(body: dict) -> int:
                    return client.post(
                        "/predict", content=held(body), headers={"content-type": "application/json"}
                    ).status_code

                answers = [pool.submit(send, body) for body in bodies]
                deadline = time.monotonic() + 60
                while metric(probe, "hatespeech_requests_in_progress") < 13 + 1:  # and this scrape
                    assert time.monotonic() < deadline, "the thirteen requests were never in flight together"
                os.kill(server.pid, signal.SIGTERM)
                while True:  # the server has stopped accepting: a new connection is refused (or, caught in the
                    # backlog as the listening socket closed, reset unanswered)
                    assert time.monotonic() < deadline, "the server still accepts connections after SIGTERM"
                    try:
                        fresh.get("/livez", timeout=2)
                    except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError):
                        break
                release.set()  # only now do the thirteen bodies end: each is answered after SIGTERM
                statuses = [answer.result(120) for answer in answers]
            assert statuses == [200] * 13
            # uvicorn re-raises the signal once it has shut down, so a supervisor sees how the process ended.
            assert server.wait(60) == -signal.SIGTERM
        finally:
            release.set()
            if server.poll() is None:
                server.kill()
                server.wait()
    log_text = log_path.read_text()
    assert "Waiting for connections to close" in log_text and "Finished server process" in log_text
    assert not any(key in log_text for key in issued.values())
    access = [json.loads(line) for line in log_text.splitlines() if line.startswith("{")]
    assert sum(1 for line in access if line["path"] == "/predict" and line["status"] == 200) == 13
    assert {"caller": "team-b", "path": "/model", "status": 200}.items() <= next(
        line for line in access if line["path"] == "/model"
    ).items()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/livez", timeout=2)
