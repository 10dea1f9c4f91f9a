"""Why this label: occlusion, one score per token.

Each token of a text (special tokens aside) is replaced in turn by the tokenizer's mask token and the text is
scored again; a token's score is how much the probability of the predicted label drops without it (positive:
the token pushed the text towards that label; negative: away from it). Occlusion (Zeiler & Fergus, 2014) was
chosen over gradient methods such as integrated gradients because it needs nothing but the model's forward
pass, so it works the same for the PyTorch and the ONNX backends, is exactly deterministic, and adds no
dependency; its cost is one forward pass per token, which the caps below bound (a tweet is ~30 tokens).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from hatespeech import LABELS
from hatespeech.data.text import Normalizer
from hatespeech.metrics import rounded
from hatespeech.model.decision import DecisionRule, softmax
from hatespeech.model.inference import Backend, Classifier, TorchBackend, batched_logits, model_input_names
from hatespeech.model.loading import input_length_limit

METHOD = "occlusion"
DEFAULT_MAX_TOKENS = 64  # tokens scored per text (the first ones); one forward pass each
DEFAULT_MAX_TEXTS = 16  # texts explained per request


def _occluded_rows(encoding: dict[str, list[int]], positions: list[int], mask_id: int) -> list[dict[str, list[int]]]:
    rows = [encoding]
    for position in positions:
        row = {name: list(values) for name, values in encoding.items()}
        row["input_ids"][position] = mask_id
        rows.append(row)
    return rows


def explain_texts(
    texts: Sequence[str],
    tokenizer: Any,
    probabilities_of: Callable[[list[dict[str, list[int]]]], np.ndarray],
    choose: Callable[[np.ndarray], np.ndarray],
    labels: Sequence[str],
    max_length: int,
    max_tokens: int = DEFAULT_MAX_TOKENS,
) -> list[dict[str, Any]]:
    """Per text: the label ``choose`` picks from its probabilities and each scored token's occlusion score.

    ``probabilities_of`` maps unpadded encodings (input_ids etc.) to class probabilities; ``choose`` maps a
    probability matrix to label ids (argmax, or a decision rule). Texts are scored together, in one call.
    """
    mask_id = tokenizer.mask_token_id if tokenizer.mask_token_id is not None else tokenizer.unk_token_id
    encodings = tokenizer(list(texts), truncation=True, max_length=max_length)
    names = [name for name in encodings.keys() if name in ("input_ids", "attention_mask", "token_type_ids")]
    rows: list[dict[str, list[int]]] = []
    spans: list[tuple[int, int]] = []
    scored: list[tuple[dict[str, list[int]], list[int], bool]] = []
    for i in range(len(texts)):
        encoding = {name: list(encodings[name][i]) for name in names}
        special = tokenizer.get_special_tokens_mask(encoding["input_ids"], already_has_special_tokens=True)
        positions = [p for p, is_special in enumerate(special) if not is_special]
        scored.append((encoding, positions[:max_tokens], len(positions) > max_tokens))
        spans.append((len(rows), len(rows) + 1 + len(scored[-1][1])))
        rows += _occluded_rows(encoding, scored[-1][1], mask_id)
    probabilities = probabilities_of(rows)
    explanations = []
    for (start, end), (encoding, positions, truncated) in zip(spans, scored):
        block = probabilities[start:end]
        target = int(choose(block[:1])[0])
        drops = block[0, target] - block[1:, target]
        tokens = tokenizer.convert_ids_to_tokens([encoding["input_ids"][p] for p in positions])
        explanations.append(
            {
                "method": METHOD,
                "label": labels[target],
                "tokens": [{"token": t, "score": rounded(d)} for t, d in zip(tokens, drops)],
                "truncated": truncated,  # more tokens than max_tokens: only the first ones are scored
            }
        )
    return explanations


def _probabilities(
    backend: Backend, pad_id: int, num_labels: int, batch_size: int
) -> Callable[[list[dict[str, list[int]]]], np.ndarray]:
    def probabilities_of(rows: list[dict[str, list[int]]]) -> np.ndarray:
        inputs = [{name: row[name] for name in backend.input_names if name in row} for row in rows]
        return softmax(batched_logits(backend, inputs, pad_id, num_labels, batch_size))

    return probabilities_of


def explain_classifier(
    classifier: Classifier, texts: Sequence[str], max_tokens: int = DEFAULT_MAX_TOKENS, batch_size: int = 64
) -> list[dict[str, Any]]:
    """:func:`explain_texts` for a loaded :class:`~hatespeech.model.inference.Classifier` (any backend): the label is
    the one its decision rule picks, as in its predictions."""
    return explain_texts(
        classifier.normalizer.apply(texts),
        classifier.tokenizer,
        _probabilities(classifier.backend, classifier.tokenizer.pad_token_id, len(classifier.labels), batch_size),
        lambda probabilities: classifier.rule.predict(probabilities, classifier.labels),
        classifier.labels,
        classifier.max_length,
        max_tokens,
    )


def model_explainer(
    model: Any, tokenizer: Any, rule: DecisionRule, normalizer: Normalizer, batch_size: int = 64
) -> Callable[[Sequence[str]], list[dict[str, Any]]]:
    """Explanations from a PyTorch model and tokenizer as the evaluate stage holds them (labels in LABELS order,
    the label its decision rule picks), of texts as ``normalizer`` (the model's) cleans them."""
    backend = TorchBackend(model, model_input_names(model, tokenizer))
    probabilities_of = _probabilities(backend, tokenizer.pad_token_id, model.config.num_labels, batch_size)
    max_length = input_length_limit(tokenizer)

    def explain(texts: Sequence[str]) -> list[dict[str, Any]]:
        return explain_texts(normalizer.apply(texts), tokenizer, probabilities_of, rule.predict, LABELS, max_length)

    return explain
