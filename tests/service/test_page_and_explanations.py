"""Explanations (occlusion), the demo page and the model card endpoint, on the tests' tiny trained model."""

from __future__ import annotations

import html
import json

import numpy as np
import pytest
from helpers import service_client

from hatespeech import LABELS
from hatespeech.evaluation.explain import explain_classifier, explain_texts
from hatespeech.evaluation.report import top_tokens
from hatespeech.model.inference import DEFAULT_BATCH_SIZE, Classifier
from hatespeech.scoring.predict import main as predict_main
from hatespeech.service.page import form_texts

TEXTS = ["zorgon blapper the snerk", "have a sunny weekend in my garden", "dang frick lol"]


@pytest.fixture(scope="module")
def classifier(trained_model) -> Classifier:
    return Classifier(trained_model.model_dir, "torch")


def test_one_score_per_input_token_and_the_same_twice(classifier):
    first = explain_classifier(classifier, TEXTS)
    assert first == explain_classifier(classifier, TEXTS)  # occlusion is deterministic
    for text, explanation in zip(TEXTS, first):
        tokens = classifier.tokenizer.tokenize(text)
        assert [t["token"] for t in explanation["tokens"]] == tokens
        assert explanation["method"] == "occlusion" and not explanation["truncated"]
    predictions = classifier.predict(TEXTS)
    assert [e["label"] for e in first] == [p["label"] for p in predictions]  # the label the service answers


def test_scores_are_the_drop_in_the_labels_probability():
    """A toy model whose probability of class 0 is the share of token id 7 among the unmasked tokens: masking
    a 7 lowers it, masking anything else raises it."""

    class Tokenizer:
        mask_token_id, unk_token_id = 0, 1

        def __call__(self, texts, truncation, max_length):
            return {"input_ids": [[2, *map(int, text.split()), 3][:max_length] for text in texts]}

        def get_special_tokens_mask(self, ids, already_has_special_tokens):
            return [1] + [0] * (len(ids) - 2) + [1]

        def convert_ids_to_tokens(self, ids):
            return [str(i) for i in ids]

    def probabilities_of(rows):
        share = np.array([np.mean([t == 7 for t in row["input_ids"][1:-1] if t != 0]) for row in rows])
        return np.stack([share, 1 - share, np.zeros_like(share)], axis=1)

    [explanation] = explain_texts(["7 7 5 7"], Tokenizer(), probabilities_of, lambda p: p.argmax(axis=1), LABELS, 16)
    assert explanation["label"] == "hate_speech"
    assert [t["token"] for t in explanation["tokens"]] == ["7", "7", "5", "7"]
    masked_seven, masked_five = 0.75 - 2 / 3, 0.75 - 1.0
    expected = [masked_seven, masked_seven, masked_five, masked_seven]
    assert [t["score"] for t in explanation["tokens"]] == pytest.approx(expected, abs=1e-6)  # scores: 6 decimals
    assert top_tokens(explanation, 2) == [("7", pytest.approx(masked_seven, abs=1e-6))] * 2
    [capped] = explain_texts(["7 7 5 7"], Tokenizer(), probabilities_of, lambda p: p.argmax(axis=1), LABELS, 16, 2)
    assert len(capped["tokens"]) == 2 and capped["truncated"]


@pytest.fixture(scope="module")
def client(classifier, tmp_path_factory):
    with service_client(
        classifier, tmp_path_factory.mktemp("m"), max_texts=5, max_chars=200, explain_max_texts=2
    ) as test_client:
        yield test_client


def test_predict_explains_on_request_within_the_cap(client, classifier):
    plain = client.post("/predict", json={"texts": TEXTS[:2]}).json()["predictions"]
    explained = client.post("/predict", json={"texts": TEXTS[:2], "explain": True}).json()["predictions"]
    assert "explanation" not in plain[0]
    assert [{k: v for k, v in p.items() if k != "explanation"} for p in explained] == plain
    # The same rows in the same batches as the service's (padding changes the last decimals).
    assert explained[0]["explanation"] == explain_classifier(classifier, TEXTS[:2], batch_size=DEFAULT_BATCH_SIZE)[0]
    too_many = client.post("/predict", json={"texts": TEXTS, "explain": True})
    assert too_many.status_code == 413 and "explanations are limited to 2 texts" in too_many.json()["detail"]
    assert client.post("/predict", json={"texts": TEXTS}).status_code == 200  # the cap is for explanations only
    bad_flag = client.post("/predict", json={"texts": TEXTS[:1], "explain": "yes"})
    assert bad_flag.status_code == 422 and '"explain" must be true or false' in bad_flag.json()["detail"]


def test_demo_page_loads_with_its_form_and_links(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for part in ('<form method="post" action="/"', '<textarea name="texts"', 'name="explain"', "/model/card", "/docs"):
        assert part in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no CDN, nothing external


def test_demo_form_posts_two_texts_and_shows_their_labels(client):
    texts = TEXTS[:2]
    expected = client.post("/predict", json={"texts": texts}).json()["predictions"]
    page = client.post("/", data={"texts": "\n".join(texts)})
    assert page.status_code == 200
    results = page.text[page.text.index('<div class="result">') :]
    assert results.count('<div class="result">') == 2
    for text, prediction in zip(texts, expected):
        block = results[results.index(html.escape(text)) :]
        assert f'Label: <span class="label">{prediction["label"]}</span>' in block
        assert f"{100 * prediction['score']:.1f}%" in block
    explained = client.post("/", data={"texts": TEXTS[0], "explain": "1"})
    assert 'class="tokens"' in explained.text and "zorgon" in explained.text


def test_demo_form_applies_the_same_limits(client):
    too_many = client.post("/", data={"texts": "\n".join(["a text"] * 6)})
    assert too_many.status_code == 413 and "too many texts: 6; at most 5" in too_many.text
    empty = client.post("/", data={"texts": "  \n "})
    assert empty.status_code == 422 and "is empty" in empty.text
    explain_cap = client.post("/", data={"texts": "\n".join(TEXTS), "explain": "1"})
    assert explain_cap.status_code == 413 and "explanations are limited" in explain_cap.text


def test_form_parsing():
    assert form_texts(b"texts=one%0D%0A%0D%0Atwo+words%0A&explain=1") == (["one", "two words"], True, None)
    assert form_texts(b"texts=x&policy=strict") == (["x"], False, "strict")


def test_model_card_endpoint(client, classifier):
    card = classifier.model_dir / "README.md"
    assert client.get("/model/card").status_code == 404
    card.write_text("---\nlicense: mit\n---\n# card\n")
    try:
        response = client.get("/model/card")
        assert response.status_code == 200 and response.text.startswith("---\nlicense: mit")
        assert response.headers["content-type"].startswith("text/markdown")
    finally:
        card.unlink()


def test_predict_command_explains(classifier, capsys):
    assert predict_main(["--model", str(classifier.model_dir), "--explain", *TEXTS[:2]]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["text"] for row in rows] == TEXTS[:2]
    assert rows[0]["explanation"] == explain_classifier(classifier, TEXTS[:2], batch_size=DEFAULT_BATCH_SIZE)[0]
    assert predict_main(["--model", str(classifier.model_dir), "--explain", "--explain-max-tokens", "2", TEXTS[0]]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(row["explanation"]["tokens"]) == 2 and row["explanation"]["truncated"]
