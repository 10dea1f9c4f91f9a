"""int8 ONNX models: weights per output channel, activations per token row.

ONNX Runtime's dynamic quantization (:func:`quantize_dynamic_int8`) gives each matrix product's input one scale
and zero point computed over the whole batch, padding included, so a text's scores moved with the texts batched
beside it (by up to 0.2 in probability on the test split). :func:`quantize_int8` rewrites that model so each
*row* (one token's hidden vector) gets its own scale from its own values: a text's scores depend on its own tokens
only, and a row's 8-bit levels span its own range, which is finer than the batch's.

Each product becomes ONNX Runtime's ``MatMulIntegerToFloat`` with the row scales as its input scale (applied after
the integer product, one pass over the output) and the weights' per-channel scales in the product itself. A row is
quantized by one blocked ``QuantizeLinear`` (opset 21; one block per row, its scale and zero point). Three kinds of
row scale (``ROW_SCALES``):

- *symmetric*, ``s = max|x| / 127`` with the zero point 128: for inputs spread around zero (layer norm outputs,
  attention context).
- *one-sided* (the exported model's choice for what an activation function such as GELU writes, whose least value
  is -0.17): a fixed zero point of 16, ``s = max(max(x, 0) / 239, -min(x, 0) / 16)``, so 240 levels for the
  positive side where a symmetric scale would spend half of them on values that never occur. The product takes the
  fixed zero point itself: nothing to correct afterwards.
- *asymmetric* (a benchmark alternative), each row its own zero point: ``s = (max(x, 0) - min(x, 0)) / 255`` and
  ``z = -round(min / s)``. The product runs with the zero point 128 (``MatMulIntegerToFloat`` takes one zero point
  for its input) and the difference is added back exactly: ``x @ W = s * (q - 128) @ W + s * (128 - z) *
  colsum(W)``, where ``colsum`` is over the quantized weights as stored; two more passes over the output.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hatespeech import PipelineError

_ROWS = "per_row_"  # prefix of every name this rewrite adds
OPSET = 21  # blocked QuantizeLinear
ONE_SIDED_ZERO_POINT = 16  # GELU's least value (-0.17) against a row's largest (several units): 16 levels below 0
_CONSTANTS: dict[str, np.ndarray] = {
    "axes": np.array([-1], dtype=np.int64),  # reduce over a row's features
    "zero": np.array(0, dtype=np.float32),
    "tiny": np.array(1e-8, dtype=np.float32),  # a row of zeros keeps a positive scale
    "level127": np.array(1 / 127, dtype=np.float32),
    "level255": np.array(1 / 255, dtype=np.float32),
    "zp": np.array(128, dtype=np.float32),
    "zp_u8": np.array(128, dtype=np.uint8),
    "fixed_u8": np.array(ONE_SIDED_ZERO_POINT, dtype=np.uint8),
    "fixed_positive": np.array(1 / (255 - ONE_SIDED_ZERO_POINT), dtype=np.float32),
    "fixed_negative": np.array(-1 / ONE_SIDED_ZERO_POINT, dtype=np.float32),
}
# Operators whose outputs sit on one side of zero (or nearly: GELU's least value is -0.17).
ONE_SIDED = frozenset({"Gelu", "Relu", "Sigmoid", "Softmax"})
# Which inputs get a one-sided scale: the exported model's choice, then the two alternatives bench.int8 measures
# (every row its own zero point; every row symmetric).
ROW_SCALES = ("one-sided", "asymmetric", "symmetric")
# The zero point (a _CONSTANTS name) MatMulIntegerToFloat takes for each kind of row: the one its rows are quantized
# with, except asymmetric rows, each quantized with its own and corrected after the product.
_PRODUCT_ZERO_POINT = {"symmetric": "zp_u8", "one-sided": "fixed_u8", "asymmetric": "zp_u8"}


@contextlib.contextmanager
def quiet_logging(level: int = logging.WARNING) -> Iterator[None]:
    """The exporter and quantizer log every graph rewrite at INFO (the quantizer on the root logger)."""
    root = logging.getLogger()
    previous = root.level
    root.setLevel(max(previous, level))
    try:
        yield
    finally:
        root.setLevel(previous)


def quantize_dynamic_int8(fp32: Path, out: Path) -> None:
    """ONNX Runtime's dynamic quantization: int8 weights per output channel (projections, feed-forward, pooler,
    classifier, embeddings), activation scales per batch. The starting point of :func:`quantize_int8`, and a row
    of the serving benchmark."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with quiet_logging(logging.ERROR):  # the quantizer warns on every call that a pre-processing step may help
        quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True)


def quantize_int8(fp32: Path, out: Path, row_scales: str = "one-sided") -> None:
    """The int8 model the export stage ships: :func:`quantize_dynamic_int8` with activations quantized per token
    row (see the module docstring), so no text's scores depend on its neighbours. ``row_scales`` (one of
    :data:`ROW_SCALES`) picks the scales: one-sided inputs a fixed zero point (the default), every row its own zero
    point, every row symmetric."""
    import onnx
    from onnx import helper

    if row_scales not in ROW_SCALES:
        raise PipelineError(f"row_scales must be one of {', '.join(ROW_SCALES)}, not {row_scales!r}")
    quantize_dynamic_int8(fp32, out)
    model = onnx.load(str(out))
    per_row_activations(model.graph, row_scales)
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            entry.version = max(entry.version, OPSET)
    if not any(entry.domain == "com.microsoft" for entry in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.checker.check_model(model)
    onnx.save(model, str(out))


def quantize_static_int8(
    fp32: Path, out: Path, calibration: Sequence[Mapping[str, Sequence[int]]], pad_id: int
) -> None:
    """Static int8 (the export stage's scheme before :func:`quantize_int8`, kept as a row of the serving
    benchmark): int8 weights per output channel, activation scales fixed by the ``calibration`` token-id encodings
    (min-max). Batch-invariant too, but one scale for every text cost accuracy (argmax agreement with fp32 0.988
    on the test split) where per-row scales cost none."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    from hatespeech.model.inference import pad_batch

    graph = onnx.load(str(fp32)).graph
    weights = {initializer.name for initializer in graph.initializer}
    names = [value.name for value in graph.input]
    op_types = ["MatMul", "Gemm", "Gather"]
    with_weights = [node.name for node in graph.node if node.op_type in op_types and set(node.input) & weights]

    class Batches(CalibrationDataReader):
        def __init__(self) -> None:
            rows = list(calibration)
            self._batches = iter(pad_batch(rows[i : i + 8], names, pad_id) for i in range(0, len(rows), 8))

        def get_next(self) -> dict | None:
            return next(self._batches, None)

    with quiet_logging(logging.ERROR):  # the quantizer warns on every call that a pre-processing step may help
        quantize_static(
            str(fp32),
            str(out),
            Batches(),
            quant_format=QuantFormat.QOperator,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=op_types,
            nodes_to_quantize=with_weights,
            calibrate_method=CalibrationMethod.MinMax,
        )


def per_row_activations(graph: Any, row_scales: str = "one-sided") -> None:
    """Replace each ``DynamicQuantizeLinear`` of ``graph`` by a per-row quantizer and each matrix product that reads
    it by a ``MatMulIntegerToFloat`` with the row scales (in place; ``row_scales`` as in :func:`quantize_int8`)."""
    from onnx import numpy_helper

    weights = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    readers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    writers = {name: node for node in graph.node for name in node.output}
    nodes: list[Any] = []
    replaced: set[int] = set()  # the per-batch products, their casts and scale multiplications
    constants: dict[str, np.ndarray] = {_ROWS + key: value for key, value in _CONSTANTS.items()}
    for node in graph.node:
        if node.op_type != "DynamicQuantizeLinear":
            nodes.append(node)
            continue
        products = readers.get(node.output[0], [])
        if not products or any(product.op_type != "MatMulInteger" for product in products):
            raise PipelineError(f"a quantized activation read by something other than MatMulInteger: {node.name}")
        kind = _row_kind(writers.get(node.input[0]), row_scales)
        features = int(weights[products[0].input[1]].shape[0])  # one block per row
        nodes += _row_quantizer(node, kind, features)
        for product in products:
            added, old, colsum = _row_product(product, node, kind, readers, writers, weights)
            nodes += added
            replaced.update(id(n) for n in old)
            constants.update(colsum)
    kept = [node for node in nodes if id(node) not in replaced]
    read = {name for node in kept for name in node.input}
    constants = {name: value for name, value in constants.items() if name in read}  # ONNX Runtime warns of others
    del graph.node[:]
    graph.node.extend(_in_order(kept, graph, set(constants)))
    graph.initializer.extend(numpy_helper.from_array(value, name) for name, value in constants.items())


def _row_kind(source: Any, row_scales: str) -> str:
    """The scale of the rows ``source`` writes: ``symmetric``, ``one-sided`` (fixed zero point) or ``asymmetric``."""
    if row_scales == "one-sided":
        return "one-sided" if source is not None and source.op_type in ONE_SIDED else "symmetric"
    return row_scales


def _row_quantizer(node: Any, kind: str, features: int) -> list[Any]:
    """Nodes computing ``DynamicQuantizeLinear``'s outputs per row of ``features`` values: the uint8 rows and their
    scales (shape ``[..., 1]``, under the old scale's name); for an ``asymmetric`` scale also
    ``<q>_<prefix>offset``, ``s * (128 - z)`` per row, for :func:`_row_product`'s correction."""
    from onnx import TensorProto, helper

    x, (q, scale, _) = node.input[0], node.output
    c, p = _ROWS, f"{q}_{_ROWS}"

    def op(op_type: str, inputs: list[str], output: str, **attributes: Any) -> Any:
        return helper.make_node(op_type, inputs, [output], **attributes)

    def quantize(zero_points: str) -> list[Any]:  # one block (scale, zero point) per row
        return [op("QuantizeLinear", [x, scale, zero_points], q, axis=-1, block_size=features)]

    def product_zero_point() -> list[Any]:  # the product's zero point, one per row
        constant = c + _PRODUCT_ZERO_POINT[kind]
        return [op("Shape", [scale], p + "rows"), op("Expand", [constant, p + "rows"], p + "zero_points")]

    row_range = [
        op("ReduceMax", [x, c + "axes"], p + "max0", keepdims=1),
        op("ReduceMin", [x, c + "axes"], p + "min0", keepdims=1),
    ]
    if kind == "symmetric":  # s = max|x| / 127, zero point 128
        return [
            *row_range,
            op("Neg", [p + "min0"], p + "neg_min"),
            op("Max", [p + "max0", p + "neg_min", c + "tiny"], p + "absmax"),
            op("Mul", [p + "absmax", c + "level127"], scale),
            *product_zero_point(),
            *quantize(p + "zero_points"),
        ]
    one_sided = [  # the range holds 0, so the zero point is in [0, 255]
        *row_range,
        op("Max", [p + "max0", c + "zero"], p + "max"),
        op("Min", [p + "min0", c + "zero"], p + "min"),
    ]
    if kind == "one-sided":  # zero point 16: s = max(max / 239, -min / 16)
        return [
            *one_sided,
            op("Mul", [p + "max", c + "fixed_positive"], p + "positive"),
            op("Mul", [p + "min", c + "fixed_negative"], p + "negative"),
            op("Max", [p + "positive", p + "negative", c + "tiny"], scale),
            *product_zero_point(),
            *quantize(p + "zero_points"),
        ]
    return [
        *one_sided,
        op("Sub", [p + "max", p + "min"], p + "range0"),
        op("Max", [p + "range0", c + "tiny"], p + "range"),
        op("Mul", [p + "range", c + "level255"], scale),
        op("Div", [p + "min", scale], p + "min_levels"),
        op("Round", [p + "min_levels"], p + "neg_zp"),  # -z
        op("Add", [c + "zp", p + "neg_zp"], p + "shift"),  # 128 - z
        op("Mul", [p + "shift", scale], p + "offset"),
        op("Neg", [p + "neg_zp"], p + "zp_float"),
        op("Cast", [p + "zp_float"], p + "zero_points", to=TensorProto.UINT8),
        *quantize(p + "zero_points"),
    ]


def _row_product(
    product: Any,
    quantizer: Any,
    kind: str,
    readers: dict[str, list[Any]],
    writers: dict[str, Any],
    weights: dict[str, Any],
) -> tuple[list[Any], list[Any], dict[str, np.ndarray]]:
    """The ``MatMulIntegerToFloat`` replacing ``product`` (a ``MatMulInteger`` of ``quantizer``'s output), its
    cast to float and its scale multiplication; with an ``asymmetric`` row scale, plus ``offset * colsum(W)``.
    Returns the new nodes, the nodes they replace and the column sums by name (none when symmetric)."""
    from onnx import helper

    cast = readers[product.output[0]][0]
    rescale = readers[cast.output[0]][0]  # Mul(cast result, input scale * weight scale)
    combined = writers[next(name for name in rescale.input if name != cast.output[0])]
    weight_scale = next(name for name in combined.input if name != quantizer.output[1])
    weight, weight_zero_point = product.input[1], product.input[3]
    result = rescale.output[0]
    asymmetric = kind == "asymmetric"
    fused = f"{result}_{_ROWS}uncorrected" if asymmetric else result
    zero_point = _ROWS + _PRODUCT_ZERO_POINT[kind]
    inputs = [quantizer.output[0], weight, quantizer.output[1], weight_scale, zero_point, weight_zero_point]
    added = [helper.make_node("MatMulIntegerToFloat", inputs, [fused], domain="com.microsoft")]
    old = [product, cast, rescale, combined]
    if not asymmetric:
        return added, old, {}
    quantized = weights[weight].astype(np.int64) - weights[weight_zero_point].astype(np.int64)
    colsum = (weights[weight_scale] * quantized.sum(axis=0)).astype(np.float32)
    name = f"{product.output[0]}_{_ROWS}colsum"
    added += [
        helper.make_node("Mul", [f"{quantizer.output[0]}_{_ROWS}offset", name], [f"{result}_{_ROWS}correction"]),
        helper.make_node("Add", [fused, f"{result}_{_ROWS}correction"], [result]),
    ]
    return added, old, {name: colsum}


def _in_order(nodes: list[Any], graph: Any, constants: set[str]) -> list[Any]:
    """``nodes`` in an order where each reads only what is computed before it (ONNX requires it)."""
    ready = {"", *constants, *(v.name for v in graph.input), *(t.name for t in graph.initializer)}
    ordered: list[Any] = []
    pending = nodes
    while pending:
        waiting = []
        for node in pending:
            if all(name in ready for name in node.input):
                ordered.append(node)
                ready.update(node.output)
            else:
                waiting.append(node)
        if len(waiting) == len(pending):
            stuck = waiting[0].name or waiting[0].op_type
            raise PipelineError(f"the int8 graph has a cycle or a missing input at {stuck}")
        pending = waiting
    return ordered
