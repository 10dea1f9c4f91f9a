"""One bad request never hurts another: the service and `hatespeech-predict` under arbitrary input.

Property-based: Hypothesis generates 500 cases per property (derandomized, so CI sees the same cases every
run) against a real uvicorn process on the tiny model, with API keys on, while a thread keeps sending valid
requests that must all succeed; and against `hatespeech-predict` in each input format.
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from urllib.parse import urlparse

import httpx
import pytest
from helpers import free_port, running_service, tool_env, uvicorn_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hatespeech.data.text import InvalidText, check_text
from hatespeech.model.inference import Classifier
from hatespeech.scoring.predict import main as predict_main
from hatespeech.service.access import key_hash
from hatespeech.service.batching import MicroBatcher
from hatespeech.service.inputs import parse_request

FUZZ = settings(
    max_examples=500,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
MAX_TEXTS, MAX_CHARS = 8, 300
KEY = "hs_fuzzing-key"  # the service holds only its hash; every request below presents it
AUTH = {"Authorization": f"Bearer {KEY}"}
VALID = ["sunny garden coffee", "zorgon blapper the", "lol my dang frick"]

# Every code point, lone surrogates and control characters included (Hypothesis leaves surrogates out unless asked).
ANY_CHAR = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(ANY_CHAR, max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(ANY_CHAR, max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def is_valid_text(text: object) -> bool:
    if not isinstance(text, str) or len(text) > MAX_CHARS:
        return False
    try:
        check_text(text, "text")
    except InvalidText:
        return False
    return True


# --- units ---------------------------------------------------------------------------------------------


def test_a_lone_surrogate_is_rejected_with_its_place():
    with pytest.raises(
        InvalidText, match=r'"texts"\[1\] is not valid Unicode: a lone surrogate U\+D800 at character 2'
    ):
        check_text("ok\ud800x", '"texts"[1]')
    assert check_text("emoji 😀 and é", "t") == "emoji 😀 and é"  # pairs and non-ASCII are fine


def test_parse_errors_are_400_including_huge_numbers():
    from hatespeech.service.inputs import RequestError

    for body in (b'{"texts": [' + b"1" * 5000 + b"]}", b'{"texts": ["a"], "n": ' + b"9" * 10_000 + b"}"):
        with pytest.raises(RequestError) as error:
            parse_request(body, MAX_TEXTS, MAX_CHARS)
        assert error.value.status == 400 and "not valid JSON" in str(error.value)
    with pytest.raises(RequestError) as error:
        parse_request(b'{"texts": ["fine", "bad \\ud800 escape"]}', MAX_TEXTS, MAX_CHARS)
    assert error.value.status == 422 and '"texts"[1] is not valid Unicode' in str(error.value)


class PoisonedClassifier:
    """A classifier that fails on any batch holding the text "poison", like a tokenizer choking on one input."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def predict(self, texts: list[str], batch_size: int = 64) -> list[dict]:
        self.calls.append(list(texts))
        if "poison" in texts:
            raise ValueError("cannot encode this text")
        return [{"label": text} for text in texts]


def test_a_failing_request_does_not_fail_the_others_in_its_micro_batch():
    classifier = PoisonedClassifier()
    batcher = MicroBatcher(classifier, batch_size=64, max_wait_s=0.05)  # type: ignore[arg-type]
    requests = [["a", "b"], ["poison"], ["c"], ["d", "poison"], ["e"]]
    futures: list[Future] = [batcher.submit(texts) for texts in requests]  # queued together: one micro-batch
    batcher.start()
    for texts, future in zip(requests, futures):
        if "poison" in texts:
            with pytest.raises(ValueError, match="cannot encode"):
                future.result(timeout=10)
        else:
            assert future.result(timeout=10) == [{"label": text} for text in texts]
    calls = classifier.calls[1:]  # after the warm-up
    assert len(calls[0]) == 7 and len(calls) == 1 + len(requests)  # the group, then one by one
    assert batcher.alive and batcher.submit(["f"]).result(timeout=10) == [{"label": "f"}]  # the worker lives on
    batcher.stop()


# --- a real uvicorn process ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def service(trained_model, tmp_path_factory):
    with running_service(
        trained_model.model_dir,
        tmp_path_factory.mktemp("service"),
        max_texts=str(MAX_TEXTS),
        max_chars=str(MAX_CHARS),
        max_wait_ms="2",
        api_key_hashes=f"{key_hash(KEY)} fuzzer",
        rate_limit="0",  # thousands of requests from one caller
    ) as running:
        yield running


@pytest.fixture(scope="module")
def expected(trained_model):
    return Classifier(trained_model.model_dir, "torch", threads=1).predict(VALID)


class ValidTraffic:
    """Valid requests sent in a loop from another thread while the fuzzing runs; every one must succeed."""

    def __init__(self, base: str, expected: list[dict]) -> None:
        self.base, self.expected, self.failures, self.sent = base, expected, [], 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30, headers=AUTH) as client:
            while not self._stop.is_set():
                response = client.post("/predict", json={"texts": VALID})
                self.sent += 1
                labels = (
                    [p["label"] for p in response.json().get("predictions", [])]
                    if response.status_code == 200
                    else None
                )
                if labels != [e["label"] for e in self.expected]:
                    self.failures.append((response.status_code, response.text[:200]))

    def __enter__(self) -> ValidTraffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


def check_answer(response: httpx.Response, texts: object) -> None:
    assert response.status_code < 500, response.text
    assert "detail" in response.json() or response.status_code == 200
    if isinstance(texts, list) and 0 < len(texts) <= MAX_TEXTS and all(is_valid_text(t) for t in texts):
        assert response.status_code == 200, response.text
        assert len(response.json()["predictions"]) == len(texts)


@pytest.mark.slow  # a real uvicorn process
def test_fuzzed_requests_never_get_a_5xx_and_valid_traffic_always_succeeds(service, expected):
    base, log = service
    cases = {"texts": 0, "json": 0, "bytes": 0}
    with httpx.Client(base_url=base, timeout=30, headers=AUTH) as client, ValidTraffic(base, expected) as traffic:

        @FUZZ
        @given(st.lists(st.text(ANY_CHAR, max_size=60), max_size=MAX_TEXTS + 2))
        def texts_of_any_characters(texts: list[str]) -> None:
            cases["texts"] += 1
            body = json.dumps({"texts": texts}).encode()  # ensure_ascii: lone surrogates travel as \ud800 escapes
            check_answer(client.post("/predict", content=body, headers={"content-type": "application/json"}), texts)

        @FUZZ
        @given(JSON_VALUES)
        def any_json_value(value: object) -> None:
            cases["json"] += 1
            texts = value.get("texts") if isinstance(value, dict) else None
            body = json.dumps(value).encode()
            check_answer(client.post("/predict", content=body, headers={"content-type": "application/json"}), texts)

        @FUZZ
        @given(
            st.binary(max_size=300)
            | st.builds(lambda digits: b'{"texts": [' + b"7" * digits + b"]}", st.integers(4000, 20_000))
        )
        def any_bytes(body: bytes) -> None:
            cases["bytes"] += 1
            check_answer(client.post("/predict", content=body, headers={"content-type": "application/json"}), None)

        texts_of_any_characters()
        any_json_value()
        any_bytes()
    assert min(cases.values()) >= 500, cases
    assert traffic.sent > 0 and traffic.failures == [], traffic.failures[:3]
    assert "Traceback" not in log.read_text() and KEY not in log.read_text()


@pytest.mark.slow  # a real uvicorn process
def test_valid_requests_beside_unencodable_ones_all_succeed(service, expected):
    """The batch-poisoning regression: 100 valid requests sent at the same time as 5 unencodable ones."""
    base, _ = service
    bad = json.dumps({"texts": ["fine", "broken \ud800"]}).encode()
    good = json.dumps({"texts": VALID}).encode()
    bodies = [bad if i % 21 == 0 else good for i in range(105)]

    def send(body: bytes) -> httpx.Response:
        return client.post(f"{base}/predict", content=body, headers={"content-type": "application/json", **AUTH})

    with ThreadPoolExecutor(max_workers=16) as pool, httpx.Client(timeout=30) as client:
        responses = list(pool.map(send, bodies))
    statuses = [(body is bad, response.status_code) for body, response in zip(bodies, responses)]
    assert statuses.count((True, 422)) == 5 and statuses.count((False, 200)) == 100
    for body, response in zip(bodies, responses):
        if body is good:
            assert [p["label"] for p in response.json()["predictions"]] == [e["label"] for e in expected]


@pytest.mark.slow  # a real uvicorn process
def test_head_works_where_get_does(service):
    base, _ = service
    for path in ("/health", "/readyz", "/livez", "/model"):
        head, get = httpx.head(f"{base}{path}", headers=AUTH), httpx.get(f"{base}{path}", headers=AUTH)
        assert head.status_code == get.status_code == 200 and head.content == b""


@pytest.mark.slow  # a real uvicorn process
def test_an_abandoned_upload_is_one_log_line(service):
    base, log = service
    address = urlparse(base)
    before = log.read_text()
    for _ in range(3):
        with socket.create_connection((address.hostname, address.port)) as raw:
            raw.sendall(
                b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-API-Key: "
                + KEY.encode()
                + b"\r\n"
                b'Content-Length: 1000\r\n\r\n{"texts": ["hal'
            )
        # closed mid-body
    time.sleep(1.0)
    added = log.read_text()[len(before) :]
    assert "Traceback" not in added
    assert added.count("disconnected before sending the whole body") == 3, added
    assert httpx.get(f"{base}/health").status_code == 200


@pytest.mark.slow  # uvicorn processes
@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            {"HATESPEECH_MAX_TEXTS": "lots"},
            "error: service: HATESPEECH_MAX_TEXTS: input should be a valid integer, "
            "unable to parse string as an integer (got 'lots')",
        ),
        ({"HATESPEECH_MODEL_DIR": "/no/such/model"}, "error: service: model directory not found: /no/such/model"),
    ],
)
def test_start_up_errors_are_one_line_and_exit_2(trained_model, tmp_path, setting, message):
    env = {**tool_env(), "HATESPEECH_MODEL_DIR": str(trained_model.model_dir), **setting}
    result = subprocess.run(
        uvicorn_command(free_port()), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [message], result.stderr


# --- hatespeech-predict --------------------------------------------------------------------------------


class _Stdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


def run_predict_bytes(monkeypatch, loaded: Classifier, data: bytes, *args: str) -> tuple[int, str, str]:
    """`hatespeech-predict` in this process on ``data`` as stdin bytes, with the tiny model already loaded."""
    out, err = io.StringIO(), io.StringIO()
    with monkeypatch.context() as patch:
        patch.setattr("hatespeech.model.inference.Classifier", lambda *a, **k: loaded)
        patch.setattr(sys, "stdin", _Stdin(data))
        patch.setattr(sys, "stdout", out)
        patch.setattr(sys, "stderr", err)
        code = predict_main(["--model", "unused", "--quiet", *args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def loaded(trained_model) -> Classifier:
    return Classifier(trained_model.model_dir, "torch", threads=1)


LINE_TEXT = st.text(ANY_CHAR.filter(lambda c: c not in "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"), max_size=30)


@pytest.mark.slow  # Hypothesis: many generated inputs per kind
@pytest.mark.parametrize("kind", ["lines", "csv", "jsonl"])
def test_predict_on_arbitrary_bytes_exits_0_or_2_in_order(monkeypatch, loaded, kind):
    # Half the cases are arbitrary bytes, half well-formed input built from arbitrary texts (surrogates included).
    def well_formed(texts: list[str]) -> bytes:
        if kind == "csv":
            return ("text\n" + "".join('"' + t.replace('"', '""') + '"\n' for t in texts)).encode(
                "utf-8", "surrogatepass"
            )
        if kind == "jsonl":
            return "".join(json.dumps({"text": t}) + "\n" for t in texts).encode()
        return "".join(t + "\n" for t in texts).encode("utf-8", "surrogatepass")

    cases = []

    @FUZZ
    @given(st.binary(max_size=200) | st.lists(LINE_TEXT, max_size=5).map(lambda texts: (texts, well_formed(texts))))
    def property(case: bytes | tuple[list[str], bytes]) -> None:
        cases.append(case)
        texts, data = case if isinstance(case, tuple) else (None, case)
        code, out, err = run_predict_bytes(monkeypatch, loaded, data, "--format", kind)
        assert code in (0, 2)
        if code == 2:
            assert out == "" or out.endswith("\n")
            assert len(err.splitlines()) == 1 and err.startswith("error: predict: "), err
            return
        rows = [json.loads(line) for line in out.splitlines()]
        if texts is not None:
            wanted = [t for t in texts if t.strip()] if kind == "lines" else texts
            assert [row["text"] for row in rows] == wanted  # order kept, nothing dropped

    property()
    assert len(cases) >= 500


def test_predict_rejects_bad_input_with_one_line(monkeypatch, loaded, tmp_path):
    cases = [
        (b"fine\n\xff\xfe bytes\n", ("--format", "lines"), "stdin is not valid UTF-8"),
        (b'{"text": "a \\ud800 b"}\n', ("--format", "jsonl"), "stdin: text 1 is not valid Unicode"),
        (
            b"text\n" + b'"' + b"x" * 200_000 + b'"\n',
            ("--format", "csv"),
            "is not readable CSV: field larger than field limit",
        ),
        (b'{"text": ' + b"1" * 5000 + b"}\n", ("--format", "jsonl"), "line 1 is not valid JSON"),
    ]
    for data, args, message in cases:
        code, _, err = run_predict_bytes(monkeypatch, loaded, data, *args)
        assert code == 2 and message in err and len(err.splitlines()) == 1, err


@pytest.mark.slow  # several predict processes
def test_predict_surrogate_argument_and_closed_pipe_as_real_processes(trained_model, tmp_path):
    env = tool_env()
    command = [sys.executable, "-m", "hatespeech.scoring.predict", "--model", str(trained_model.model_dir), "--quiet"]
    # An argument that is not UTF-8 reaches Python as a lone surrogate (surrogateescape).
    bad_argument = subprocess.run(
        [*command, b"caf\xe9".decode("utf-8", "surrogateescape")], env=env, capture_output=True, timeout=300
    )
    assert bad_argument.returncode == 2 and b"Traceback" not in bad_argument.stderr
    assert b"arguments: text 1 is not valid Unicode" in bad_argument.stderr
    # `... | head -1`: the reader closes the pipe after one line.
    reader = subprocess.Popen(["head", "-1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    writer = subprocess.run(
        command,
        input=("sunny garden\n" * 20_000).encode(),
        env=env,
        stdout=reader.stdin,
        stderr=subprocess.PIPE,
        timeout=300,
    )
    reader.stdin.close()
    assert len(reader.stdout.read().splitlines()) == 1
    reader.wait(timeout=30)
    assert writer.returncode == 2 and b"Traceback" not in writer.stderr
    # The last line (transformers may print a weight-loading progress bar before it).
    assert writer.stderr.decode().strip().splitlines()[-1] == (
        "error: predict: the output was closed before every prediction was written"
    )
