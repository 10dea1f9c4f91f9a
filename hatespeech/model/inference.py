"""Batched inference: length-sorted batches padded per batch, results in the input's order.

One :class:`Classifier` serves ``predict``, the HTTP service and the benchmark, on any of three backends:
PyTorch (a trained model directory) or ONNX Runtime, fp32 or int8 (the directory the ``export`` stage
writes, which carries the tokenizer, config and decision rule of the model it was exported from).
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from hatespeech import LABEL, PipelineError
from hatespeech.data.text import Normalizer
from hatespeech.io import read_json
from hatespeech.metrics import rounded
from hatespeech.model.acceleration import compile_in_place
from hatespeech.model.calibration import Calibration
from hatespeech.model.decision import DecisionRule, softmax
from hatespeech.model.loading import check_checkpoint, input_length_limit, load_classifier, load_tokenizer
from hatespeech.model.policy import Policies, Policy
from hatespeech.model.precision import cpu_has_native_bf16, serving_precision
from hatespeech.paths import ONNX_FILES
from hatespeech.threads import choose_threads, set_torch_threads

log = logging.getLogger(__name__)

BACKENDS = ("torch", "onnx", "onnx-int8")
BACKEND_ENV = "HATESPEECH_BACKEND"
# Texts per batch for predict, the service and the benchmark: the fastest size measured (docs/serving.md).
DEFAULT_BATCH_SIZE = 32
# File names inside the export stage's ONNX directory.
# Written by the train stage next to the model: {"checkpoint", "data_sha256", "seed", "params"}.


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> Iterator[np.ndarray]:
    """Indices of the inputs, shortest first, in batches: each batch pads only to its own longest member."""
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    order = np.argsort(np.asarray(lengths), kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def pad_batch(rows: Sequence[Mapping[str, Sequence[int]]], names: Sequence[str], pad_id: int) -> dict[str, np.ndarray]:
    """Right-pad token-id rows into int64 arrays, one per model input in ``names``.

    Plain numpy: several times faster than ``tokenizer.pad`` on short texts, where padding is a real
    share of the inference time.
    """
    width = max(len(row["input_ids"]) for row in rows)
    batch = {}
    for name in names:
        array = np.full((len(rows), width), pad_id if name == "input_ids" else 0, dtype=np.int64)
        for i, row in enumerate(rows):
            values = row[name]
            array[i, : len(values)] = values
        batch[name] = array
    return batch


class Backend(Protocol):
    input_names: list[str]

    def logits(self, batch: dict[str, np.ndarray]) -> np.ndarray: ...


class TorchBackend:
    def __init__(self, model: Any, input_names: Sequence[str], precision: str = "fp32") -> None:
        import torch

        self._torch = torch
        self.model = model.eval()
        self.device = next(model.parameters()).device
        self.input_names = list(input_names)
        self.precision = serving_precision(precision)
        if self.precision == "bf16" and self.device.type == "cpu" and not cpu_has_native_bf16():
            log.warning("this CPU has neither AVX512-BF16 nor AMX: bf16 is emulated and likely slower than fp32")

    def logits(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode(), torch.autocast(self.device.type, torch.bfloat16, self.precision == "bf16"):
            inputs = {k: torch.from_numpy(v).to(self.device) for k, v in batch.items()}
            return self.model(**inputs).logits.float().cpu().numpy()


class OnnxBackend:
    def __init__(self, path: Path, threads: int | None = None) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            raise PipelineError(f"cannot load the ONNX model {path}: {exc}") from exc
        self.input_names = [i.name for i in self.session.get_inputs()]

    def logits(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run(None, {name: batch[name] for name in self.input_names})[0]


def batched_logits(
    backend: Backend,
    encodings: Sequence[Mapping[str, Sequence[int]]],
    pad_id: int,
    num_labels: int,
    batch_size: int = 64,
) -> np.ndarray:
    """Logits for token-id ``encodings`` (``input_ids`` etc., unpadded), in the order given."""
    logits = np.zeros((len(encodings), num_labels), dtype=np.float32)
    for ids in length_sorted_batches([len(item["input_ids"]) for item in encodings], batch_size):
        logits[ids] = backend.logits(pad_batch([encodings[i] for i in ids], backend.input_names, pad_id))
    return logits


def predict_logits(
    model: Any, tokenizer: Any, encodings: Sequence[dict[str, list[int]]], batch_size: int = 64
) -> np.ndarray:
    """Logits of a PyTorch ``model`` for token-id ``encodings``, in the order given (used by evaluate)."""
    names = [name for name in tokenizer.model_input_names if encodings and name in encodings[0]]
    backend = TorchBackend(model, names)
    return batched_logits(backend, encodings, tokenizer.pad_token_id, model.config.num_labels, batch_size)


def evaluate_split(model: Any, tokenizer: Any, dataset: Any, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Return (gold labels, class probabilities) for a tokenized split."""
    encodings = dataset.select_columns([c for c in tokenizer.model_input_names if c in dataset.column_names])
    probabilities = softmax(predict_logits(model, tokenizer, encodings.to_list(), batch_size))
    return np.asarray(dataset[LABEL]), probabilities


def resolve_backend(backend: str | None) -> str:
    """``backend``, else $HATESPEECH_BACKEND, else torch; an unknown name is a clear error."""
    name = backend or os.environ.get(BACKEND_ENV) or "torch"
    if name not in BACKENDS:
        raise PipelineError(f"unknown backend '{name}': choose one of {', '.join(BACKENDS)}")
    return name


def _labels(model_dir: Path) -> list[str]:
    config = read_json(model_dir / "config.json", "a model directory needs its config.json")
    try:
        id2label = {int(k): str(v) for k, v in config["id2label"].items()}
        return [id2label[i] for i in range(len(id2label))]
    except (AttributeError, ValueError, KeyError, TypeError) as exc:
        raise PipelineError(f"{model_dir / 'config.json'} has no usable id2label label map: {exc}") from exc


class Classifier:
    """A trained model directory, loaded once, classifying raw texts with the model's decision rule.

    Texts are cleaned by the model's own :class:`~hatespeech.data.text.Normalizer` (its directory's
    ``normalizer.json``) before they are tokenized, exactly as its training data was. The scores it answers are
    calibrated by the directory's ``calibration.json`` (none: the model's own probabilities, and
    :attr:`calibration` says so); the label is the decision rule's, on the model's own probabilities; a
    moderation policy of its ``policies.json`` turns the scores into an action.

    ``backend`` is ``torch`` for a trained model directory, ``onnx`` or ``onnx-int8`` for the export
    stage's directory; None reads $HATESPEECH_BACKEND (default torch). ``precision`` (torch only) is fp32
    or bf16; None reads $HATESPEECH_PRECISION (default fp32). ``compile`` and ``attention`` (torch only) are
    the training levers of :mod:`~hatespeech.model.acceleration`, for the serving benchmark's rows.
    """

    def __init__(
        self,
        model_dir: str | Path,
        backend: str | None = None,
        max_length: int | None = None,
        threads: int | None = None,
        precision: str | None = None,
        compile: bool = False,
        attention: str | None = None,
    ) -> None:
        self.backend_name = resolve_backend(backend)
        self.precision = serving_precision(precision)
        if self.backend_name != "torch" and self.precision != "fp32":
            raise PipelineError(
                f"precision {self.precision} applies to the torch backend; {self.backend_name} runs the "
                "arithmetic of its ONNX file (fp32 model.onnx, int8 model.int8.onnx)"
            )
        self.model_dir = Path(check_checkpoint(str(model_dir)))
        self.tokenizer = load_tokenizer(str(self.model_dir))
        self.normalizer = Normalizer.load(self.model_dir)  # the text clean-up the model was trained with
        if self.backend_name == "torch":
            threads = set_torch_threads(threads).threads
            model = load_classifier(str(self.model_dir), attention=attention)
            names = model_input_names(model, self.tokenizer)
            if compile:  # dynamic shapes: one compiled graph for every batch and text length
                compile_in_place(model)
            self.backend: Backend = TorchBackend(model, names, self.precision)
        else:
            path = self.model_dir / ONNX_FILES[self.backend_name]
            if not path.is_file():
                raise PipelineError(
                    f"no {path.name} in {self.model_dir}: the {self.backend_name} backend needs the directory "
                    "written by the export stage (models/onnx)"
                )
            self.backend = OnnxBackend(path, choose_threads(threads).threads)
        self.labels = _labels(self.model_dir)
        self.rule = DecisionRule.load(self.model_dir)
        self.rule.vector(self.labels)  # fails now, not at the first request, if a class has no offset
        self.calibration = Calibration.load(self.model_dir)
        self.calibration.apply(np.full((1, len(self.labels)), 1 / len(self.labels)), self.labels)  # likewise
        self.policies = Policies.load(self.model_dir)
        for name in self.policies.names:
            unknown = set(self.policies.get(name).thresholds) - set(self.labels)
            if unknown:
                raise PipelineError(f"policy '{name}' has thresholds for class(es) the model lacks: {sorted(unknown)}")
        self.max_length = max_length or input_length_limit(self.tokenizer)

    def probabilities(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """The model's own class probabilities (columns in :attr:`labels` order) for each text, in the input order:
        what the decision rule reads; :meth:`results` calibrates them."""
        if not texts:  # the tokenizer cannot encode an empty batch
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        encodings = self.tokenizer(self.normalizer.apply(texts), truncation=True, max_length=self.max_length)
        names = [name for name in self.backend.input_names if name in encodings]
        rows = [{name: encodings[name][i] for name in names} for i in range(len(texts))]
        logits = batched_logits(self.backend, rows, self.tokenizer.pad_token_id, len(self.labels), batch_size)
        return softmax(logits)

    def policy(self, name: str | None = None) -> Policy:
        """The model's policy ``name`` (None: its default); an unknown one is an UnknownPolicy naming the known."""
        return self.policies.get(name)

    def results(self, probabilities: np.ndarray, policy: Policy | None = None) -> list[dict[str, Any]]:
        """``{label, score, scores}`` per row of model probabilities: the label the decision rule picks, its
        calibrated probability and every class's; with a ``policy``, also its ``action``, name and ``reason``."""
        chosen = self.rule.predict(probabilities, self.labels)
        calibrated = self.calibration.apply(probabilities, self.labels)
        results = [
            {
                "label": self.labels[c],
                "score": rounded(p[c]),
                "scores": {label: rounded(s) for label, s in zip(self.labels, p)},
            }
            for c, p in zip(chosen, calibrated)
        ]
        return results if policy is None else [{**r, **policy.decide(r["scores"])} for r in results]

    def predict(
        self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE, policy: Policy | None = None
    ) -> list[dict[str, Any]]:
        """Label, calibrated scores (and with a ``policy`` the action) for each text, in the input order."""
        return self.results(self.probabilities(texts, batch_size), policy)


def model_input_names(model: Any, tokenizer: Any) -> list[str]:
    """The tokenizer outputs that the model's ``forward`` accepts (DistilBERT, e.g., takes no token_type_ids)."""
    accepted = set(inspect.signature(model.forward).parameters)
    return [name for name in tokenizer.model_input_names if name in accepted]
