"""Calibrated scores and moderation policies through every entry point: the Classifier, hatespeech-predict and
the service give the same scores and actions; the policy comes from the request, the API key or the service; an
unknown one is a 422 naming the known; a model directory from before calibration still serves."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from helpers import TINY_POLICIES, service_client

from hatespeech import LABELS, PipelineError
from hatespeech.model.calibration import Calibration
from hatespeech.model.inference import Classifier
from hatespeech.scoring.predict import main as predict_main
from hatespeech.service.access import new_key

TEXTS = [
    "sunny garden coffee",
    "zorgon blapper the dang",
    "frick that blapper lol",
    "my dang zorgon",
    "the coffee garden",
    "blapper blapper frick",
    "lol",
    "zorgon zorgon dang frick blapper",
]
POLICIES = list(TINY_POLICIES["policies"])  # watchful (the model's default), hands-off


@pytest.fixture(scope="module")
def classifier(trained_model) -> Classifier:
    return Classifier(trained_model.model_dir, "torch", threads=1)


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> tuple[str, dict[str, str]]:
    """A keys file: team-a's default policy is hands-off, team-b names none."""
    path = tmp_path_factory.mktemp("keys") / "keys.txt"
    issued = {"team-a": new_key(str(path), "team-a", "hands-off"), "team-b": new_key(str(path), "team-b")}
    return str(path), issued


def test_every_entry_point_gives_the_same_calibrated_scores_and_actions(classifier, tmp_path, capsys):
    calibration = Calibration.load(classifier.model_dir)
    assert calibration.calibrated
    raw = classifier.probabilities(TEXTS)
    expected_scores = calibration.apply(raw)
    assert not np.allclose(expected_scores, raw, atol=1e-3)  # the scores really are the calibrated ones
    for name in POLICIES:
        library = classifier.predict(TEXTS, policy=classifier.policy(name))
        for result, scores in zip(library, expected_scores):
            assert list(result["scores"].values()) == pytest.approx(scores, abs=1e-6)
            assert result["score"] == result["scores"][result["label"]]
        assert predict_main(["--model", str(classifier.model_dir), "--policy", name, "--quiet", *TEXTS]) == 0
        cli = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        with service_client(classifier, tmp_path) as client:
            response = client.post("/predict", json={"texts": TEXTS, "policy": name})
        assert response.status_code == 200
        served = response.json()["predictions"]
        for answers in (cli, served):
            assert [{k: a[k] for k in ("label", "action", "policy", "reason")} for a in answers] == [
                {k: r[k] for k in ("label", "action", "policy", "reason")} for r in library
            ]
            for answer, result in zip(answers, library):
                assert answer["scores"] == pytest.approx(result["scores"], abs=1e-5)
    watchful = {r["action"] for r in classifier.predict(TEXTS, policy=classifier.policy("watchful"))}
    assert len(watchful) >= 2, watchful  # texts that really take different actions


def test_the_policy_comes_from_the_request_then_the_key_then_the_service(classifier, keys, tmp_path):
    keys_file, issued = keys

    def used(client, key: str, **body) -> set[str]:
        response = client.post("/predict", json={"texts": TEXTS[:2], **body}, headers={"X-API-Key": issued[key]})
        assert response.status_code == 200, response.text
        return {p["policy"] for p in response.json()["predictions"]}

    with service_client(classifier, tmp_path, api_keys_file=keys_file, rate_limit=0) as client:
        assert used(client, "team-a") == {"hands-off"}  # the key's default
        assert used(client, "team-b") == {"watchful"}  # no key default: the model's
        assert used(client, "team-a", policy="watchful") == {"watchful"}  # the request wins
        assert client.get("/model", headers={"X-API-Key": issued["team-b"]}).json()["default_policy"] == "watchful"
        flagged = client.get("/metrics", headers={"X-API-Key": issued["team-b"]}).text
        assert 'hatespeech_actions_total{action="' in flagged and 'policy="hands-off"' in flagged
    with service_client(classifier, tmp_path, api_keys_file=keys_file, rate_limit=0, policy="hands-off") as client:
        assert used(client, "team-b") == {"hands-off"}  # the service's default
        assert used(client, "team-a") == {"hands-off"}


def test_an_unknown_policy_is_a_422_that_names_the_known_ones(classifier, tmp_path):
    with service_client(classifier, tmp_path) as client:
        response = client.post("/predict", json={"texts": ["hi"], "policy": "lax"})
        assert response.status_code == 422
        assert response.json()["detail"] == "unknown policy 'lax': this model knows watchful, hands-off"
        not_a_name = client.post("/predict", json={"texts": ["hi"], "policy": 3})
        assert not_a_name.status_code == 422 and '"policy" must be' in not_a_name.json()["detail"]
        page = client.post("/", data={"texts": "hi", "policy": "lax"})
        assert page.status_code == 422 and "knows watchful, hands-off" in page.text
    with pytest.raises(PipelineError, match="HATESPEECH_POLICY names a policy the model does not have"):
        with service_client(classifier, tmp_path, policy="lax"):
            pass
    keys_file = tmp_path / "keys.txt"
    new_key(str(keys_file), "team-c", "lax")
    with pytest.raises(PipelineError, match="the API key 'team-c' names a policy"):
        with service_client(classifier, tmp_path, api_keys_file=str(keys_file)):
            pass


def test_the_demo_page_shows_the_action_and_the_band_the_score_fell_in(classifier, tmp_path):
    with service_client(classifier, tmp_path) as client:
        form = client.get("/")
        assert '<option value="watchful" selected>watchful (default)</option>' in form.text
        page = client.post("/", data={"texts": "\n".join(TEXTS[:3]), "policy": "hands-off"})
    assert page.status_code == 200
    expected = classifier.predict(TEXTS[:3], policy=classifier.policy("hands-off"))
    for result in expected:
        assert f'<span class="action {result["action"]}">{result["action"]}</span>' in page.text
    assert "under the <b>hands-off</b> policy" in page.text
    threshold = classifier.policy("hands-off").thresholds["hate_speech"]
    assert f"review from {threshold.review:.3f}" in page.text and "never flagged automatically" in page.text


def test_a_model_directory_from_before_calibration_still_serves_uncalibrated(trained_model, tmp_path, capsys):
    old = tmp_path / "old-model"
    shutil.copytree(trained_model.model_dir, old)
    (old / "calibration.json").unlink()
    (old / "policies.json").unlink()
    classifier = Classifier(old, "torch", threads=1)
    raw = classifier.probabilities(TEXTS[:3])
    with service_client(classifier, tmp_path) as client:
        info = client.get("/model").json()
        assert info["scores"].startswith("uncalibrated") and info["calibration"]["kind"] == "none"
        assert info["policies"] is None and info["default_policy"] is None
        answers = client.post("/predict", json={"texts": TEXTS[:3]}).json()["predictions"]
        assert all("action" not in a for a in answers)  # no policy, no action: said in the model info
        for answer, scores in zip(answers, raw):
            assert [answer["scores"][name] for name in LABELS] == pytest.approx(scores, abs=1e-5)
        refused = client.post("/predict", json={"texts": ["hi"], "policy": "watchful"})
        assert refused.status_code == 422 and "knows none" in refused.json()["detail"]
    assert predict_main(["--model", str(old), "--quiet", "hi"]) == 0
    assert "action" not in json.loads(capsys.readouterr().out)
    assert predict_main(["--model", str(old), "--quiet", "--policy", "watchful", "hi"]) == 2
    assert "knows none" in capsys.readouterr().err
