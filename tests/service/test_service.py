"""Batch prediction (order, file formats, decision rule) and the HTTP service (bad requests, micro-batching,
a real uvicorn process under concurrent load), on the tiny fine-tuned model."""

from __future__ import annotations

import io
import json
import random
import shutil
import statistics
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from helpers import running_service, service_client

from hatespeech import LABELS, PipelineError
from hatespeech.model.decision import DecisionRule
from hatespeech.model.inference import Classifier
from hatespeech.scoring.predict import main as predict_main
from hatespeech.scoring.predict import stream_predictions
from hatespeech.service.batching import WARM_UP_TEXT, MicroBatcher
from hatespeech.service.main import create_app
from hatespeech.service.settings import Settings

# Texts from 1 to ~120 tokens, shuffled so that length-sorting really reorders them.
WORDS = ["zorgon", "dang", "sunny", "the", "frick", "garden", "blapper", "lol", "coffee", "my"]
TEXTS = [" ".join(random.Random(n).choices(WORDS, k=n)) for n in (1, 40, 3, 2, 100, 7, 1, 25, 60, 5, 12, 118, 4)]


@pytest.fixture(scope="module")
def classifier(trained_model) -> Classifier:
    return Classifier(trained_model.model_dir, "torch")


def same_results(actual: list[dict], expected: list[dict], tolerance: float = 1e-5) -> None:
    """Equal labels; scores equal up to float noise (padding differs between batch compositions)."""
    assert [r["label"] for r in actual] == [r["label"] for r in expected]
    for a, e in zip(actual, expected):
        assert a["score"] == pytest.approx(e["score"], abs=tolerance)
        assert a["scores"] == pytest.approx(e["scores"], abs=tolerance)


def test_length_sorted_batches_keep_the_input_order(classifier):
    one_at_a_time = [classifier.predict([text])[0] for text in TEXTS]
    for batch_size in (1, 3, 64):
        same_results(classifier.predict(TEXTS, batch_size=batch_size), one_at_a_time)
    result = one_at_a_time[0]
    assert set(result) == {"label", "score", "scores"} and list(result["scores"]) == list(LABELS)
    assert result["score"] == result["scores"][result["label"]]
    assert classifier.predict([]) == []


def test_streaming_keeps_order_across_chunks_and_reports_progress(classifier):
    out, progress = io.StringIO(), io.StringIO()
    written = stream_predictions(classifier, iter(TEXTS * 3), out, batch_size=4, chunk_size=5, progress=progress)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert written == len(rows) == 3 * len(TEXTS)
    assert [row["text"] for row in rows] == TEXTS * 3
    same_results(rows, classifier.predict(TEXTS * 3))
    lines = progress.getvalue().splitlines()
    assert len(lines) == 7 and lines[-1].startswith(
        f"predict: {3 * len(TEXTS)} texts"
    )  # 8 chunks, none after the first


def test_bf16_precision_keeps_labels_and_is_picked_by_option_or_environment(trained_model, classifier, monkeypatch):
    bf16 = Classifier(trained_model.model_dir, "torch", precision="bf16")
    assert bf16.precision == bf16.backend.precision == "bf16" and classifier.precision == "fp32"
    # bf16 keeps 8 bits of mantissa: scores move in the second or third decimal, labels stay.
    same_results(bf16.predict(TEXTS), classifier.predict(TEXTS), tolerance=0.02)
    assert bf16.probabilities(TEXTS).dtype == classifier.probabilities(TEXTS).dtype
    monkeypatch.setenv("HATESPEECH_PRECISION", "bf16")
    assert Classifier(trained_model.model_dir, "torch").precision == "bf16"
    monkeypatch.setenv("HATESPEECH_PRECISION", "fp8")
    with pytest.raises(PipelineError, match="unknown precision 'fp8': choose one of fp32, bf16"):
        Classifier(trained_model.model_dir, "torch")


def test_decision_rule_saved_with_the_model_is_applied(trained_model, tmp_path):
    model_dir = tmp_path / "model"
    shutil.copytree(trained_model.model_dir, model_dir)
    DecisionRule(offsets={"hate_speech": 50.0, "offensive_language": 0.0, "neither": 0.0}, kind="offsets").save(
        model_dir
    )
    ruled = Classifier(model_dir, "torch").predict(TEXTS)
    plain = Classifier(trained_model.model_dir, "torch").predict(TEXTS)
    assert {r["label"] for r in ruled} == {"hate_speech"}
    assert all(r["score"] == r["scores"]["hate_speech"] for r in ruled)
    assert [r["scores"] for r in ruled] == [r["scores"] for r in plain]  # the rule changes labels, not scores


def run_predict(capsys, *args: str) -> tuple[int, list[dict], str]:
    code = predict_main(list(args))
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def same_predictions(rows: list[dict], expected: list[dict]) -> bool:
    """The same texts, labels and actions, and scores equal to within batch-size rounding (1e-5)."""
    scoreless = [{k: v for k, v in row.items() if k not in ("score", "scores")} for row in rows]
    assert scoreless == [{k: v for k, v in row.items() if k not in ("score", "scores")} for row in expected]
    return all(
        row["score"] == pytest.approx(other["score"], abs=1e-5)
        and row["scores"] == pytest.approx(other["scores"], abs=1e-5)
        for row, other in zip(rows, expected, strict=True)
    )


def test_predict_reads_csv_jsonl_and_plain_lines(trained_model, tmp_path, capsys):
    texts = TEXTS[:6] + ['with "quotes", a comma\nand a newline']
    csv_path = tmp_path / "tweets.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as handle:
        import csv

        writer = csv.writer(handle)
        writer.writerow(["id", "tweet"])
        writer.writerows([i, text] for i, text in enumerate(texts))
    jsonl_path = tmp_path / "tweets.jsonl"
    jsonl_path.write_text(
        "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts)), encoding="utf-8"
    )
    lines_path = tmp_path / "tweets.data"  # any other extension: one text per line
    lines_path.write_text("\n".join(TEXTS[:6]) + "\n\n", encoding="utf-8")
    model = ["--model", str(trained_model.model_dir), "--quiet"]

    code, from_csv, _ = run_predict(capsys, *model, "--file", str(csv_path), "--column", "tweet", "--batch-size", "2")
    assert code == 0 and [r["text"] for r in from_csv] == texts
    code, from_jsonl, _ = run_predict(capsys, *model, "--file", str(jsonl_path))
    assert code == 0 and same_predictions(from_jsonl, from_csv)  # another batch size: fp32 sums in another order
    code, from_lines, _ = run_predict(capsys, *model, "--file", str(lines_path))
    assert code == 0 and same_predictions(from_lines, from_csv[:6])
    # --format overrides the extension.
    shutil.copy(jsonl_path, tmp_path / "tweets.txt")
    code, forced, _ = run_predict(capsys, *model, "--file", str(tmp_path / "tweets.txt"), "--format", "jsonl")
    assert code == 0 and same_predictions(forced, from_csv)
    for row in from_csv:
        assert set(row) == {"text", "label", "score", "scores", "action", "policy", "reason"} and row["label"] in LABELS
        assert row["policy"] == "watchful" and row["action"] in ("allow", "review", "flag")  # the model's default


@pytest.mark.parametrize(
    ("name", "content", "args", "message"),
    [
        ("t.csv", "id,tweet\n1,hello\n", (), "no column 'text' (columns: id, tweet); pick one with --column"),
        ("t.jsonl", '{"text": "ok"}\n{"text": 3}\n', (), 'line 2 is not a JSON object with a string "text" field'),
        ("t.jsonl", '{"text": "ok"}\nnot json\n', (), "line 2 is not valid JSON"),
        ("t.txt", "hello\n", ("--backend", "tensorflow"), "unknown backend 'tensorflow'"),
        ("t.txt", "hello\n", ("--backend", "onnx"), "no model.onnx in"),
        ("t.txt", "hello\n", ("--precision", "half"), "unknown precision 'half'"),
    ],
)
def test_predict_bad_input_is_a_clear_error(trained_model, tmp_path, capsys, name, content, args, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    code, _, err = run_predict(capsys, "--model", str(trained_model.model_dir), "--file", str(path), *args)
    assert code == 2 and message in err and "Traceback" not in err


# --- the service ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(classifier, tmp_path_factory):
    with service_client(classifier, tmp_path_factory.mktemp("m"), max_texts=5, max_chars=1000) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b'{"texts": ["a", ', 400, "the body is not valid JSON"),
        (b"\xff\xfe", 400, "the body is not valid JSON"),
        (b"", 400, "the body is not valid JSON"),
        (b"[" * 20_000, 400, "nested too deeply"),
        (b'{"texts": ["' + b"x" * 40_000 + b'"]}', 413, "the body is larger than any valid request"),
        (b'["a"]', 422, "the body must be a JSON object"),
        (b'{"text": ["a"]}', 422, 'missing field "texts"'),
        (b'{"texts": "a tweet"}', 422, '"texts" must be a list of strings, got str'),
        (b'{"texts": null}', 422, '"texts" must be a list of strings, got NoneType'),
        (b'{"texts": ["ok", 7]}', 422, '"texts"[1] is not a string (int)'),
        (b'{"texts": ["ok", null]}', 422, '"texts"[1] is not a string (NoneType)'),
        (b'{"texts": []}', 422, '"texts" is empty'),
        (json.dumps({"texts": ["a"] * 6}).encode(), 413, "too many texts: 6; at most 5 per request"),
        (json.dumps({"texts": ["ok", "x" * 1001]}).encode(), 413, '"texts"[1] is 1001 characters long; at most 1000'),
    ],
)
def test_bad_requests_get_a_4xx_and_the_service_keeps_answering(client, classifier, body, status, message):
    response = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]
    good = client.post("/predict", json={"texts": TEXTS[:5]})
    assert good.status_code == 200
    same_results(good.json()["predictions"], classifier.predict(TEXTS[:5]))


def test_health_and_model_metadata(client, classifier, trained_model, tmp_path):
    assert client.get("/health").json() == {"status": "ready"}  # /readyz under its old name
    info = client.get("/model").json()
    assert info["labels"] == {"0": "hate_speech", "1": "offensive_language", "2": "neither"}
    # The rule the train stage fitted on validation and saved next to the model.
    assert info["decision_rule"]["fitted_on"] == "validation" and info["backend"] == "torch"
    assert info["precision"] == "fp32"
    assert info["checkpoint"] is None and info["data_sha256"] is None and info["test_metrics"] is None

    # With the train stage's metadata and the evaluate stage's metrics present, /model shows them.
    model_dir = tmp_path / "model"
    shutil.copytree(trained_model.model_dir, model_dir)
    metadata = {"checkpoint": "tiny-bert", "data_sha256": "ab" * 32, "seed": 42, "params": {"epochs": 4}}
    (model_dir / "training_metadata.json").write_text(json.dumps(metadata))
    (tmp_path / "test.json").write_text(json.dumps({"f1_macro": 0.5}))
    config = Settings(model_dir=str(model_dir), metrics=str(tmp_path / "test.json"))
    with TestClient(create_app(config)) as other:
        info = other.get("/model").json()
    assert {key: info[key] for key in metadata} == metadata
    assert info["test_metrics"] == {"f1_macro": 0.5}


def test_the_openapi_page_is_generated_from_the_request_and_response_models(client):
    spec = client.get("/openapi.json").json()
    predict = spec["paths"]["/predict"]["post"]
    body = predict["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["texts"] and body["properties"]["texts"]["minItems"] == 1
    assert body["examples"][0]["texts"] == ["have a lovely weekend", "another tweet"]
    answer = predict["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert answer.endswith("/PredictResponse") and {"413", "429", "503"} <= set(predict["responses"])
    prediction = spec["components"]["schemas"]["Prediction"]["properties"]
    assert {"label", "score", "scores", "explanation"} <= set(prediction)
    assert spec["paths"]["/model"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ModelInfo"
    )
    assert "/" not in spec["paths"] and "/metrics" not in spec["paths"]  # the page and the scrape are not the API


class RecordingClassifier:
    """Stands in for a Classifier: records each call's texts."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def predict(self, texts: list[str], batch_size: int = 64) -> list[dict]:
        self.calls.append(list(texts))
        return [{"label": text} for text in texts]


@pytest.mark.parametrize(("max_group_texts", "calls"), [(6, [6, 6]), (None, [12])])
def test_micro_batcher_groups_queued_requests_and_splits_results(max_group_texts, calls):
    fake = RecordingClassifier()
    batcher = MicroBatcher(fake, batch_size=6, max_wait_s=0.05, max_group_texts=max_group_texts)  # type: ignore[arg-type]
    requests = [[f"r{i}-{j}" for j in range(i % 3 + 1)] for i in range(6)]  # 1+2+3+1+2+3 texts
    futures: list[Future] = [batcher.submit(texts) for texts in requests]  # all queued before the worker starts
    batcher.start()
    results = [future.result(timeout=10) for future in futures]
    batcher.stop()
    assert results == [[{"label": text} for text in texts] for texts in requests]
    assert fake.calls[0] == [WARM_UP_TEXT]  # the worker's first act
    # Whole requests per call, never six calls: groups of a batch (6 texts) at most, or by default every text
    # already queued (up to 8 batches), which the classifier sorts by length together.
    assert [len(call) for call in fake.calls[1:]] == calls


@pytest.mark.slow  # a real uvicorn under load
def test_uvicorn_serves_concurrent_load_correctly(trained_model, classifier, tmp_path):
    with running_service(trained_model.model_dir, tmp_path, max_wait_ms="3", rate_limit="0") as (base, _):
        # 300 requests of 1-4 texts from 8 threads; every answer must be what the Classifier says directly.
        rng = random.Random(0)
        bodies = [rng.sample(TEXTS, rng.randint(1, 4)) for _ in range(300)]
        expected = {text: result for text, result in zip(TEXTS, classifier.predict(TEXTS))}
        local = threading.local()

        def call(texts: list[str]) -> tuple[int, list[dict], float]:
            if not hasattr(local, "client"):
                local.client = httpx.Client(base_url=base, timeout=30)
            started = time.perf_counter()
            response = local.client.post("/predict", json={"texts": texts})
            return response.status_code, response.json().get("predictions"), time.perf_counter() - started

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(call, bodies))
        elapsed = time.perf_counter() - started
        for texts, (status, predictions, _) in zip(bodies, answers):
            assert status == 200
            same_results(predictions, [expected[text] for text in texts])
        latencies = sorted(1000 * latency for *_, latency in answers)
        p50, p95 = statistics.median(latencies), latencies[int(0.95 * len(latencies)) - 1]
        print(
            f"\nuvicorn load test: 300 requests, 8 threads, {len(bodies) / elapsed:.0f} requests/s; "
            f"latency p50 {p50:.1f} ms, p95 {p95:.1f} ms"
        )
        # And a bad request through the real server, then a good one.
        assert httpx.post(f"{base}/predict", content=b"{oops").status_code == 400
        assert httpx.post(f"{base}/predict", json={"texts": ["sunny"]}).status_code == 200
