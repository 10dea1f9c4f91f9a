"""ONNX export of a trained classifier (fp32, and int8 with activations quantized per token) and its parity with
PyTorch, including whether a text's scores depend on the texts batched with it."""

from __future__ import annotations

import logging
import shutil
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hatespeech import LABEL, PipelineError
from hatespeech.metrics import macro_f1, rounded
from hatespeech.model.decision import DecisionRule, softmax
from hatespeech.model.inference import (
    OnnxBackend,
    TorchBackend,
    batched_logits,
    model_input_names,
    pad_batch,
)
from hatespeech.model.int8 import quantize_int8, quiet_logging
from hatespeech.model.loading import load_classifier, load_tokenizer
from hatespeech.paths import (
    CALIBRATION_FILE,
    CARD_FILE,
    METADATA_FILE,
    NORMALIZER_FILE,
    ONNX_FILES,
    POLICY_FILE,
    RULE_FILE,
    SPELLING_FILE,
)

log = logging.getLogger(__name__)

# Copied next to the ONNX files so the directory is self-contained: tokenizer, label map, decision rule,
# calibration, moderation policies and the text normalizer with its word lists (the ONNX backends clean, score and
# decide as the PyTorch one does).
SIDE_FILES = (
    "config.json",
    RULE_FILE,
    CALIBRATION_FILE,
    POLICY_FILE,
    METADATA_FILE,
    NORMALIZER_FILE,
    SPELLING_FILE,
    CARD_FILE,
)  # the model card and the spelling word lists too, when the model has them
# Parity targets on the test split: argmax agreement with PyTorch, and the largest macro-F1 difference.
MIN_AGREEMENT = {"onnx": 0.999, "onnx-int8": 0.995}
MAX_F1_DIFFERENCE = 0.002
# A text's probabilities alone and batched with long neighbours may differ by float rounding only.
MAX_BATCH_DIFFERENCE = 1e-4


def export_onnx(model_dir: str | Path, out_dir: str | Path) -> list[str]:
    """Write ``model.onnx`` (fp32) and ``model.int8.onnx`` (int8 weights, activations quantized per token:
    :func:`~hatespeech.model.int8.quantize_int8`) of ``model_dir`` into ``out_dir``, plus its tokenizer, config
    and decision rule; returns the model's input names.

    Batch and sequence axes are dynamic, so any batch of any padded length runs.
    """
    import torch

    model_dir, out_dir = Path(model_dir), Path(out_dir)
    tokenizer = load_tokenizer(str(model_dir))
    model = load_classifier(str(model_dir)).eval()
    out_dir.mkdir(parents=True, exist_ok=True)

    names = model_input_names(model, tokenizer)
    # Batch 2 and several tokens: the exporter specializes dimensions of size 0 or 1.
    sample = tokenizer(
        ["an example to trace", "another, longer example text to trace"], padding=True, return_tensors="pt"
    )
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")

    class LogitsOnly(torch.nn.Module):
        """The classifier as a function of positional tensors to logits: what the ONNX graph computes."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.model(**dict(zip(names, inputs))).logits

    fp32 = out_dir / ONNX_FILES["onnx"]
    with warnings.catch_warnings(), quiet_logging():
        warnings.simplefilter("ignore")  # the exporter's deprecation chatter from transformers/torch internals
        try:
            torch.onnx.export(
                LogitsOnly(),
                tuple(sample[name] for name in names),
                str(fp32),
                input_names=names,
                output_names=["logits"],
                dynamo=True,
                dynamic_shapes=(tuple({0: batch, 1: sequence} for _ in names),),  # one spec per *inputs
                external_data=False,  # one self-contained file; BERT-base is well under ONNX's 2 GB limit
                verbose=False,
            )
        except Exception as exc:  # the exporter raises many internal types; report which model failed
            raise PipelineError(f"ONNX export of {model_dir} failed: {type(exc).__name__}: {exc}") from exc
    strip_debug_metadata(fp32)
    quantize_int8(fp32, out_dir / ONNX_FILES["onnx-int8"])

    tokenizer.save_pretrained(str(out_dir))
    for name in SIDE_FILES:
        if (model_dir / name).is_file():
            shutil.copy2(model_dir / name, out_dir / name)
    return names


def batch_difference(backend: Any, encodings: Sequence[Mapping[str, Sequence[int]]], pad_id: int) -> float:
    """The largest change in a text's class probabilities between scoring it alone and in one batch with the
    others and the seven longest texts of ``encodings`` (up to 64 texts are checked): padded to the longest,
    a text keeps its scores only if nothing in the arithmetic depends on its neighbours."""
    checked = list(encodings[:64])
    longest = sorted(encodings, key=lambda row: len(row["input_ids"]), reverse=True)[:7]
    batched = softmax(backend.logits(pad_batch([*checked, *longest], backend.input_names, pad_id)))
    largest = 0.0
    for i, row in enumerate(checked):
        alone = softmax(backend.logits(pad_batch([row], backend.input_names, pad_id)))[0]
        largest = max(largest, float(np.abs(alone - batched[i]).max()))
    return largest


def strip_debug_metadata(path: Path) -> None:
    """Drop the exporter's per-node debug notes (stack traces with this checkout's absolute paths, FX node
    text, name scopes): they do not change what the graph computes, but they made the file's bytes, and so
    its hash and size, depend on where the repository was cloned."""
    import onnx

    model = onnx.load(str(path))
    graphs = [model.graph, *model.functions]
    for graph in graphs:
        for node in graph.node:
            del node.metadata_props[:]
        for value in (*getattr(graph, "value_info", ()), *getattr(graph, "input", ()), *getattr(graph, "output", ())):
            del value.metadata_props[:]
    onnx.save(model, str(path))


def parity_report(model_dir: str | Path, onnx_dir: str | Path, test_split: Any, batch_size: int = 64) -> dict[str, Any]:
    """Compare the ONNX backends with PyTorch on a tokenized split: argmax agreement, macro F1, logit error.

    Macro F1 is computed with the model's decision rule, as predict and the service apply it.
    """
    model_dir, onnx_dir = Path(model_dir), Path(onnx_dir)
    tokenizer = load_tokenizer(str(model_dir))
    model = load_classifier(str(model_dir))
    columns = [c for c in tokenizer.model_input_names if c in test_split.column_names]
    encodings = test_split.select_columns(columns).to_list()
    if not encodings:
        raise PipelineError("the test split is empty: nothing to check the ONNX models against")
    labels = np.asarray(test_split[LABEL])
    names = [model.config.id2label[i] for i in range(model.config.num_labels)]
    rule = DecisionRule.load(model_dir)

    def logits_of(backend: Any) -> np.ndarray:
        return batched_logits(backend, encodings, tokenizer.pad_token_id, len(names), batch_size)

    torch_backend = TorchBackend(model, columns)
    reference = logits_of(torch_backend)
    reference_f1 = macro_f1(labels, rule.predict(softmax(reference), names), len(names))
    report: dict[str, Any] = {
        "examples": int(len(labels)),
        "max_batch_difference": MAX_BATCH_DIFFERENCE,
        "torch": {
            "f1_macro": rounded(reference_f1),
            "batch_difference": rounded(batch_difference(torch_backend, encodings, tokenizer.pad_token_id)),
        },
    }
    for backend, filename in ONNX_FILES.items():
        onnx_backend = OnnxBackend(onnx_dir / filename)
        logits = logits_of(onnx_backend)
        f1 = macro_f1(labels, rule.predict(softmax(logits), names), len(names))
        agreement = float((logits.argmax(axis=1) == reference.argmax(axis=1)).mean())
        difference = batch_difference(onnx_backend, encodings, tokenizer.pad_token_id)
        passed = (
            agreement >= MIN_AGREEMENT[backend]
            and abs(f1 - reference_f1) <= MAX_F1_DIFFERENCE
            and difference <= MAX_BATCH_DIFFERENCE
        )
        report[backend] = {
            "argmax_agreement": rounded(agreement),
            "min_agreement": MIN_AGREEMENT[backend],
            "f1_macro": rounded(f1),
            "f1_macro_difference": rounded(f1 - reference_f1),
            "max_abs_logit_difference": rounded(np.abs(logits - reference).max()),
            "batch_difference": rounded(difference),
            "size_mb": round((onnx_dir / filename).stat().st_size / 2**20, 2),
            "passed": bool(passed),
        }
        if not passed:
            log.warning(
                "%s misses parity with PyTorch: argmax agreement %.4f (target >= %.3f), "
                "macro F1 %+.4f (target within %.2f), batch difference %.2g (target <= %.0e)",
                backend,
                agreement,
                MIN_AGREEMENT[backend],
                f1 - reference_f1,
                MAX_F1_DIFFERENCE,
                difference,
                MAX_BATCH_DIFFERENCE,
            )
    return report
