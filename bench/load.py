"""Load test of the HTTP service: what a deployment sees, on this machine, in one bounded run.

    python -m bench.load --model models/model --onnx models/onnx --out reports/bench_load.json
    python -m bench.load --quick --model DIR            # the tests: a few requests per phase (structure only)

For each backend (PyTorch fp32 from ``--model``; ONNX int8 from ``--onnx``, when given) it measures the
micro-batcher offline (every request submitted at once, in this process: the ceiling the service could reach),
then starts ``hatespeech-serve`` on 127.0.0.1 (a free port, API keys on, as docs/serving.md says) and drives it
with concurrent clients (``httpx`` on asyncio, one connection each, every request ``--texts-per-request``
tweets):

The offline figure is also measured with the batcher taking one batch per call in arrival order (how it
grouped before it took every queued text up to 8 batches): the ratio shows what length-sorting the queue buys.

1. **levels**: 1, 8, 32 and 128 clients, a bounded number of requests each: throughput and p50/p95/p99 latency;
   the ratio of throughput at 32 clients to the offline figure (goal >= 0.8: HTTP and batching cost little);
2. **soak**: 32 clients for ``--soak-s`` seconds, the server's RSS sampled every 2 s: flat within +-10%
   (the median of the last quarter of samples against the first quarter's); then one text per request from 32
   clients, ``/predict`` against Perspective's ``comments:analyze`` in alternating rounds (goal: >= 0.9);
3. **overload**: a second server with a small queue (8 requests' worth of texts) and a per-key rate limit that
   lets the keys' callers together ask for twice what the model can do; 256 clients on 4 keys send for
   ``--overload-s`` seconds, each waiting as long as a 429's or 503's Retry-After says (as HTTP clients with
   retries do), so the rejected load stays far above capacity. Every answer must be 200, 429 or 503, none lost,
   and the p99 latency of the 200s at the server (arrival to answer, from its access log; the clients' own
   figure is reported beside it) must stay within the queue's bound: an accepted request waits for at most
   the queue ahead of it and the group running (itself at most a queue and a request), so 2 x (2 x queue +
   one request) / offline throughput + 0.5 s, the factor 2 for the CPU that answering the refusals takes.

The clients run on the same machine as the server, so the server gets ``--threads`` (default: all cores but
one, the same for the offline figure) and the clients the core left: PyTorch threads that share their cores
with another busy process slow down many times over (docs/performance.md).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.report import cpu_model, table, write_report
from hatespeech.cli import run_cli
from hatespeech.model.inference import DEFAULT_BATCH_SIZE
from hatespeech.testing import free_port, wait_until_ready
from hatespeech.threads import usable_cpus

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / "data/hate_speech_offensive/labeled_data.csv.gz"
LEVELS = (1, 8, 32, 128)
TARGETS = {"ratio_32_clients_vs_offline": 0.8, "soak_rss_drift": 0.10, "analyze_vs_predict": 0.9}
PERSPECTIVE_CLIENTS, PERSPECTIVE_ROUNDS = 32, 2
ALLOWED_UNDER_OVERLOAD = {200, 429, 503}
OVERLOAD_KEYS, OVERLOAD_CLIENTS = 4, 256


@dataclass
class Phase:
    """What the clients saw in one phase."""

    clients: int
    elapsed_s: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)  # requests without an answer, by exception type
    latencies_s: list[float] = field(default_factory=list)  # of the 200s
    texts_answered: int = 0

    def summary(self) -> dict[str, Any]:
        import numpy as np

        latencies = np.asarray(self.latencies_s or [math.nan]) * 1000
        p50, p95, p99 = (round(float(np.percentile(latencies, q)), 1) for q in (50, 95, 99))
        return {
            "clients": self.clients,
            "requests": sum(self.statuses.values()) + sum(self.errors.values()),
            "statuses": {str(status): count for status, count in sorted(self.statuses.items())},
            "unanswered": sum(self.errors.values()),
            "errors": dict(self.errors),
            "seconds": round(self.elapsed_s, 2),
            "texts_per_s": round(self.texts_answered / max(self.elapsed_s, 1e-9), 1),
            "p50_ms": p50,
            "p95_ms": p95,
            "p99_ms": p99,
        }


async def drive(
    base: str,
    bodies: list[bytes],
    texts_per_body: int,
    clients: int,
    headers_of: Callable[[int], dict[str, str]],
    max_requests: int | None = None,
    seconds: float | None = None,
    honor_retry_after: bool = False,
    path: str = "/predict",
) -> Phase:
    """``clients`` concurrent clients sending ``bodies`` in turn until ``max_requests`` are sent or ``seconds``
    have passed (whichever comes first); each client waits for its answer before sending again, and with
    ``honor_retry_after`` sleeps as long as a 429 or 503 says before its next request (what HTTP clients with
    retries do, e.g. urllib3's ``Retry``)."""
    import httpx

    phase = Phase(clients)
    sent = itertools.count()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    started = time.perf_counter()
    stop_at = started + (seconds if seconds is not None else math.inf)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:

        async def one(number: int) -> None:
            headers = {"content-type": "application/json", **headers_of(number)}
            while True:
                n = next(sent)
                if (max_requests is not None and n >= max_requests) or time.perf_counter() >= stop_at:
                    return
                request_started = time.perf_counter()
                try:
                    response = await client.post(path, content=bodies[n % len(bodies)], headers=headers)
                except httpx.HTTPError as exc:
                    phase.errors[type(exc).__name__] += 1
                    continue
                phase.statuses[response.status_code] += 1
                if response.status_code == 200:
                    phase.latencies_s.append(time.perf_counter() - request_started)
                    phase.texts_answered += texts_per_body
                elif honor_retry_after and response.status_code in (429, 503):
                    wait = float(response.headers.get("retry-after", 1))
                    await asyncio.sleep(min(wait, max(stop_at - time.perf_counter(), 0)))

        await asyncio.gather(*(one(number) for number in range(clients)))
    phase.elapsed_s = time.perf_counter() - started
    return phase


def offline_texts_per_s(classifier: Any, requests: list[list[str]], max_group_texts: int | None = None) -> float:
    """The micro-batcher's throughput with every request queued at once: no HTTP, no waiting for requests.
    ``max_group_texts``: the batcher's (None: its default; ``DEFAULT_BATCH_SIZE``: one batch per call, in
    arrival order, as it grouped before)."""
    from hatespeech.service.batching import MicroBatcher

    batcher = MicroBatcher(classifier, DEFAULT_BATCH_SIZE, 0.005, max_group_texts=max_group_texts)
    batcher.start()
    try:
        for future in [batcher.submit(texts) for texts in requests[:8]]:  # warm-up
            future.result()
        started = time.perf_counter()
        for future in [batcher.submit(texts) for texts in requests]:
            future.result()
        elapsed = time.perf_counter() - started
    finally:
        batcher.stop()
    return sum(map(len, requests)) / elapsed


@contextmanager
def serving(model_dir: str, backend: str, workdir: Path, settings: dict[str, str]) -> Iterator[tuple[str, int, Path]]:
    """``hatespeech-serve`` on a free 127.0.0.1 port; yields (base URL, pid, its log); stopped with SIGTERM after."""

    port = free_port()
    env = {
        **os.environ,
        "HATESPEECH_MODEL_DIR": model_dir,
        "HATESPEECH_BACKEND": backend,
        **{f"HATESPEECH_{name.upper()}": value for name, value in settings.items()},
    }
    log_path = workdir / f"server-{backend}-{port}.log"
    command = [sys.executable, "-m", "hatespeech.service.serve", "--port", str(port), "--log-level", "warning"]
    with open(log_path, "w") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_ready(base, server, log_path, seconds=180)
        except AssertionError as exc:
            raise BenchError(f"hatespeech-serve did not start: {exc}") from None
        yield base, server.pid, log_path
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


async def soak(base: str, pid: int, bodies: list[bytes], texts_per_body: int, seconds: float, headers: dict) -> dict:
    """32 clients for ``seconds``, with the server's RSS sampled every 2 s (at least 4 samples)."""
    import psutil

    process, samples = psutil.Process(pid), []
    interval = min(2.0, seconds / 4)

    async def sample() -> None:
        while True:
            samples.append(process.memory_info().rss / 2**20)
            await asyncio.sleep(interval)

    sampler = asyncio.create_task(sample())
    phase = await drive(base, bodies, texts_per_body, 32, lambda _: headers, seconds=seconds)
    sampler.cancel()
    quarter = max(1, len(samples) // 4)
    first, last = sorted(samples[:quarter])[quarter // 2], sorted(samples[-quarter:])[quarter // 2]
    drift = (last - first) / first
    return {
        **phase.summary(),
        "rss_mb_samples": len(samples),
        "rss_mb_first_quarter": round(first, 1),
        "rss_mb_last_quarter": round(last, 1),
        "rss_mb_max": round(max(samples), 1),
        "rss_drift": round(drift, 4),
        "flat": abs(drift) <= TARGETS["soak_rss_drift"],
    }


def server_latency_p99_ms(log_path: Path) -> float | None:
    """The p99 of the answered /predict requests' durations in the server's JSON access log: arrival to answer,
    without the time the clients, on the same cores, take to send and read."""
    import numpy as np

    durations = []
    for line in log_path.read_text().splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("path") == "/predict" and entry.get("status") == 200:
                durations.append(entry["duration_ms"])
    return round(float(np.percentile(durations, 99)), 1) if durations else None


def keys_file(workdir: Path, names: list[str]) -> tuple[Path, dict[str, str]]:
    from hatespeech.service.access import new_key

    path = workdir / "keys.txt"
    return path, {name: new_key(str(path), name) for name in names}


def request_bodies(texts: list[str], per: int) -> tuple[list[list[str]], list[bytes]]:
    """``texts`` in requests of ``per`` (a last, shorter one left out) and those requests' JSON bodies."""
    requests = [texts[i : i + per] for i in range(0, len(texts) - per + 1, per)]
    return requests, [json.dumps({"texts": request}).encode() for request in requests]


def offline_figures(backend: str, model_dir: str, requests: list[list[str]], threads: int) -> tuple[float, float]:
    """The micro-batcher's texts/s without HTTP: grouping as it does, and one batch a call in arrival order."""
    from hatespeech.model.inference import Classifier

    # Freed on return, before the servers load their own copies of the model.
    classifier = Classifier(model_dir, backend, threads=threads)
    one_batch = offline_texts_per_s(classifier, requests, DEFAULT_BATCH_SIZE)
    offline = offline_texts_per_s(classifier, requests)
    print(f"{backend}: offline micro-batcher {offline:,.0f} texts/s ({one_batch:,.0f} one batch a call)", flush=True)
    return offline, one_batch


def open_phases(
    backend: str,
    model_dir: str,
    workdir: Path,
    settings: dict[str, str],
    bodies: list[bytes],
    auth: dict[str, str],
    args: argparse.Namespace,
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """The levels, the soak, then /predict against comments:analyze, on one server with ``settings``; every client
    sends with the headers ``auth``."""
    per = args.texts_per_request
    levels = []
    with serving(model_dir, backend, workdir, settings) as (base, pid, _):
        for clients in args.levels:
            requests_here = max(args.requests, 4 * clients)
            phase = asyncio.run(drive(base, bodies, per, clients, lambda _: auth, requests_here, seconds=args.level_s))
            row = phase.summary()
            levels.append(row)
            print(
                f"{backend}: {clients} clients: {row['texts_per_s']:,.0f} texts/s, p99 {row['p99_ms']} ms", flush=True
            )
        soaked = asyncio.run(soak(base, pid, bodies, per, args.soak_s, auth))
        print(f"{backend}: soak {args.soak_s:g} s: RSS drift {soaked['rss_drift']:+.1%}", flush=True)
        perspective = perspective_phase(base, bodies, auth, args)
    return levels, soaked, perspective


def perspective_phase(base: str, bodies: list[bytes], auth: dict[str, str], args: argparse.Namespace) -> dict:
    """One text per request at 32 clients, ``/predict`` against Perspective's ``comments:analyze`` (TOXICITY), in
    alternating rounds on the same server: what the Perspective drop-in costs over the service's own API."""
    texts = [text for body in bodies for text in json.loads(body)["texts"]]
    forms = {
        "/predict": [json.dumps({"texts": [text]}).encode() for text in texts],
        "/v1alpha1/comments:analyze": [
            json.dumps({"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}}}).encode() for text in texts
        ],
    }
    requests = max(args.requests, 4 * PERSPECTIVE_CLIENTS)
    answered = {path: [0, 0.0] for path in forms}
    for _ in range(PERSPECTIVE_ROUNDS):
        for path, form in forms.items():
            phase = asyncio.run(
                drive(base, form, 1, PERSPECTIVE_CLIENTS, lambda _: auth, requests, args.level_s, path=path)
            )
            answered[path][0] += phase.texts_answered
            answered[path][1] += phase.elapsed_s
    speed = {path: round(texts_ / max(seconds, 1e-9), 1) for path, (texts_, seconds) in answered.items()}
    ratio = round(speed["/v1alpha1/comments:analyze"] / max(speed["/predict"], 1e-9), 3)
    print(f"one text per request, {PERSPECTIVE_CLIENTS} clients: {speed}; analyze / predict {ratio}", flush=True)
    return {"clients": PERSPECTIVE_CLIENTS, "texts_per_s": speed, "analyze_vs_predict": ratio}


def overload_settings(keys_path: Path, per: int, offline: float, threads: str) -> dict[str, str]:
    """A queue of 8 requests' worth of texts and a per-key rate limit that lets the keys together ask for twice
    what the model can do (``offline`` texts/s)."""
    capacity_rps = offline / per
    rate = capacity_rps * 2 / OVERLOAD_KEYS
    return {
        "api_keys_file": str(keys_path),
        "rate_limit": f"{rate:.3f}",
        "rate_burst": str(max(1, math.ceil(rate))),
        "max_queue_texts": str(8 * per),
        "max_texts": str(per),
        "threads": threads,
    }


def overload_phase(
    backend: str,
    model_dir: str,
    workdir: Path,
    settings: dict[str, str],
    keys: dict[str, str],
    bodies: list[bytes],
    offline: float,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """The overload phase on a server with ``settings``: what the clients saw and whether the server kept its bounds."""
    per = args.texts_per_request
    queue = int(settings["max_queue_texts"])
    bound_s = 2 * (2 * queue + per) / offline + 0.5
    with serving(model_dir, backend, workdir, settings) as (base, _, log_path):
        headers = [{"X-API-Key": keys[f"bench-{i}"]} for i in range(OVERLOAD_KEYS)]
        phase = asyncio.run(
            drive(
                base,
                bodies,
                per,
                args.overload_clients,
                lambda n: headers[n % OVERLOAD_KEYS],
                seconds=args.overload_s,
                honor_retry_after=True,
            )
        )
    overload = phase.summary()
    server_p99_ms = server_latency_p99_ms(log_path)
    overload.update(
        {
            "settings": {k: v for k, v in settings.items() if k != "api_keys_file"},
            "keys": OVERLOAD_KEYS,
            "server_p99_ms": server_p99_ms,
            "p99_bound_ms": round(bound_s * 1000, 1),
            "only_200_429_503": set(phase.statuses) <= ALLOWED_UNDER_OVERLOAD,
            "none_unanswered": not phase.errors,
            "p99_within_bound": server_p99_ms is not None and server_p99_ms <= bound_s * 1000,
        }
    )
    print(f"{backend}: overload: {overload['statuses']}, p99 of 200s {overload['p99_ms']} ms", flush=True)
    return overload


def run_backend(
    backend: str, model_dir: str, texts: list[str], args: argparse.Namespace, workdir: Path
) -> dict[str, Any]:
    per = args.texts_per_request
    requests, bodies = request_bodies(texts, per)
    offline, one_batch = offline_figures(backend, model_dir, requests, args.threads)
    keys_path, keys = keys_file(workdir / backend, [f"bench-{i}" for i in range(OVERLOAD_KEYS)])
    result: dict[str, Any] = {
        "offline_texts_per_s": round(offline, 1),
        "offline_one_batch_per_call_texts_per_s": round(one_batch, 1),
        "grouped_vs_one_batch_per_call": round(offline / one_batch, 2),
    }
    threads = str(args.threads)
    open_settings = {
        "api_keys_file": str(keys_path),
        "rate_limit": "0",
        "max_queue_texts": str(128 * per),
        "threads": threads,
    }
    auth = {"Authorization": f"Bearer {keys['bench-0']}"}
    phases = open_phases(backend, model_dir, workdir, open_settings, bodies, auth, args)
    result["levels"], result["soak"], result["perspective"] = phases
    at_32 = next((row for row in result["levels"] if row["clients"] == 32), None)
    result["ratio_32_clients_vs_offline"] = round(at_32["texts_per_s"] / offline, 3) if at_32 else None
    settings = overload_settings(keys_path, per, offline, threads)
    result["overload"] = overload_phase(backend, model_dir, workdir, settings, keys, bodies, offline, args)
    return result


def render(report: dict[str, Any]) -> str:
    settings = report["settings"]
    lines = [
        f"bench.load on {report['machine']['cpu']} ({report['machine']['cores']} cores), "
        f"{settings['texts_per_request']} texts per request, {settings['server_threads']} server thread(s)"
    ]
    for backend, result in report["backends"].items():
        rows = [
            [
                row["clients"],
                row["requests"],
                row["texts_per_s"],
                row["p50_ms"],
                row["p95_ms"],
                row["p99_ms"],
                row["texts_per_s"] / result["offline_texts_per_s"],
            ]
            for row in result["levels"]
        ]
        lines += [
            "",
            f"{backend}: offline micro-batcher {result['offline_texts_per_s']:,.1f} texts/s "
            f"({result['grouped_vs_one_batch_per_call']}x grouping one batch a call in arrival order: "
            f"{result['offline_one_batch_per_call_texts_per_s']:,.1f})",
        ]
        lines.append(table(["clients", "requests", "texts/s", "p50 ms", "p95 ms", "p99 ms", "of offline"], rows))
        soak_ = result["soak"]
        lines.append(
            f"soak: {soak_['seconds']} s, {soak_['requests']} requests, RSS {soak_['rss_mb_first_quarter']} -> "
            f"{soak_['rss_mb_last_quarter']} MB ({soak_['rss_drift']:+.1%}; max {soak_['rss_mb_max']} MB)"
        )
        perspective = result["perspective"]
        lines.append(
            f"one text per request, {perspective['clients']} clients: {perspective['texts_per_s']} texts/s; "
            f"comments:analyze / predict {perspective['analyze_vs_predict']}"
        )
        over = result["overload"]
        lines.append(
            f"overload: {over['clients']} clients on {over['keys']} keys, {over['seconds']} s: statuses "
            f"{over['statuses']}, unanswered {over['unanswered']}, p99 of 200s {over['server_p99_ms']} ms at the "
            f"server (bound {over['p99_bound_ms']} ms), {over['p99_ms']} ms at the clients"
        )
    lines.append("")
    for target in report["targets"]:
        lines.append(
            f"{'met   ' if target['met'] else 'MISSED'} {target['name']}: {target['value']} ({target['goal']})"
        )
    return "\n".join(lines)


def targets(backends: dict[str, Any]) -> list[dict[str, Any]]:
    checks = []
    for backend, result in backends.items():
        ratio = result["ratio_32_clients_vs_offline"]
        over = result["overload"]
        checks += [
            {
                "name": f"{backend} 32 clients / offline",
                "value": ratio,
                "goal": ">= 0.8",
                "met": ratio is not None and ratio >= TARGETS["ratio_32_clients_vs_offline"],
            },
            {
                "name": f"{backend} soak RSS drift",
                "value": result["soak"]["rss_drift"],
                "goal": "within +-0.10",
                "met": result["soak"]["flat"],
            },
            {
                "name": f"{backend} comments:analyze / predict, one text per request",
                "value": result["perspective"]["analyze_vs_predict"],
                "goal": ">= 0.9",
                "met": result["perspective"]["analyze_vs_predict"] >= TARGETS["analyze_vs_predict"],
            },
            {
                "name": f"{backend} overload answers",
                "value": over["statuses"],
                "goal": "only 200, 429, 503; none lost",
                "met": over["only_200_429_503"] and over["none_unanswered"],
            },
            {
                "name": f"{backend} overload p99 of 200s at the server (ms)",
                "value": over["server_p99_ms"],
                "goal": f"<= {over['p99_bound_ms']}",
                "met": over["p99_within_bound"],
            },
        ]
    return checks


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/model", help="PyTorch model directory (default: %(default)s)")
    parser.add_argument("--onnx", help="the export stage's directory (models/onnx): adds the onnx-int8 backend")
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="tweets to send (CSV column tweet, or parquet)")
    parser.add_argument("--texts", type=int, default=2048, help="how many of its tweets (default: %(default)s)")
    parser.add_argument("--texts-per-request", type=int, default=8, help="(default: %(default)s)")
    parser.add_argument("--requests", type=int, default=400, help="requests per level, at least 4 per client")
    parser.add_argument("--level-s", type=float, default=60.0, help="most seconds per level (default: %(default)s)")
    parser.add_argument("--soak-s", type=float, default=120.0, help="(default: %(default)s)")
    parser.add_argument(
        "--threads",
        type=int,
        default=max(1, len(usable_cpus()) - 1),
        help="the server's inference threads, and the offline figure's (default: all cores but one: %(default)s)",
    )
    parser.add_argument("--overload-s", type=float, default=20.0, help="(default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="a few requests per phase: checks the harness")
    parser.add_argument("--out", type=Path, default=Path("reports/bench_load.json"))
    args = parser.parse_args(argv)
    args.levels, args.overload_clients = LEVELS, OVERLOAD_CLIENTS
    if args.quick:
        args.levels, args.overload_clients = (1, 8, 32), 32
        args.texts, args.requests, args.soak_s, args.overload_s = 128, 16, 4.0, 3.0
    if min(args.texts, args.texts_per_request, args.requests) < 1 or args.texts < args.texts_per_request:
        raise BenchError(
            "--texts, --texts-per-request and --requests must be at least 1, --texts >= --texts-per-request"
        )
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from bench.serving import load_texts

    args = parse_args(argv)
    texts = load_texts(args.data, args.texts)
    models = {"torch": args.model, **({"onnx-int8": args.onnx} if args.onnx else {})}
    for backend, path in models.items():
        if not Path(path).is_dir():
            raise BenchError(f"no {backend} model at {path}: run `make run` (or pass --model/--onnx)")
    with tempfile.TemporaryDirectory() as scratch:
        for backend in models:
            (Path(scratch) / backend).mkdir()
        backends = {backend: run_backend(backend, path, texts, args, Path(scratch)) for backend, path in models.items()}
    report: dict[str, Any] = {
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count()},
        "settings": {
            "texts_per_request": args.texts_per_request,
            "texts": len(texts),
            "soak_s": args.soak_s,
            "overload_s": args.overload_s,
            "quick": args.quick,
            "server_threads": args.threads,
        },
        "backends": backends,
    }
    report["targets"] = targets(backends)
    write_report(args.out, report, render(report))
    return report


if __name__ == "__main__":
    run_cli("bench.load", main)
