"""int8 ONNX models: weights per output channel, activations per token row.

ONNX Runtime's dynamic quantization (:func:`quantize_dynamic_int8`) gives each matrix product's input one scale
and zero point computed over the whole batch, padding included, so a text's scores moved with the texts batched
beside it (by up to 0.2 in probability on the test split). :func:`quantize_int8` rewrites that model so each
*row* (one token's hidden vector) gets its own scale and zero point from its own values: a text's scores depend
on its own tokens only, and a row's 256 levels span its own range, which is finer than the batch's.

Per row, for each ``DynamicQuantizeLinear(x)``: ``s = (max(x, 0) - min(x, 0)) / 255`` and ``z = -round(min / s)``
(a ``QuantizeLinear`` over the rows flattened to 2-D, one pass over the data). ONNX Runtime's ``MatMulInteger``
takes only one zero point for its input, so the products run with the fixed zero point 128 and the difference is
added back exactly: ``x @ W = s * (q - 128) @ W + s * (128 - z) * colsum(W)``, where ``colsum`` is over the
quantized weights as stored. (A symmetric scale, zero point 128 and nothing to add back, was tried: ONNX Runtime
1.32's fused ``MatMulIntegerToFloat`` then multiplies the layer's bias by the per-row scale too, and with the bias
kept out of the fusion it agreed less with fp32, 99.77% against 99.91% of test tweets, and was no faster.)
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
_CONSTANTS: dict[str, np.ndarray] = {
    "axes": np.array([-1], dtype=np.int64),  # reduce over a row's features; also the flattened and the last axis
    "zero": np.array(0, dtype=np.float32),
    "tiny": np.array(1e-8, dtype=np.float32),  # a row of zeros keeps a positive scale
    "level": np.array(1 / 255, dtype=np.float32),
    "zp": np.array(128, dtype=np.float32),
    "zp_u8": np.array(128, dtype=np.uint8),
}


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


def quantize_int8(fp32: Path, out: Path) -> None:
    """The int8 model the export stage ships: :func:`quantize_dynamic_int8` with activations quantized per token
    row (see the module docstring), so no text's scores depend on its neighbours."""
    import onnx

    quantize_dynamic_int8(fp32, out)
    model = onnx.load(str(out))
    per_row_activations(model.graph)
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


def per_row_activations(graph: Any) -> None:
    """Replace each ``DynamicQuantizeLinear`` of ``graph`` by a per-row quantizer and correct the matrix products
    that read it (in place)."""
    from onnx import numpy_helper

    weights = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    readers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    writers = {name: node for node in graph.node for name in node.output}
    nodes: list[Any] = []
    constants: dict[str, np.ndarray] = {_ROWS + key: value for key, value in _CONSTANTS.items()}
    for node in graph.node:
        if node.op_type != "DynamicQuantizeLinear":
            nodes.append(node)
            continue
        products = readers.get(node.output[0], [])
        if not products or any(product.op_type != "MatMulInteger" for product in products):
            raise PipelineError(f"a quantized activation read by something other than MatMulInteger: {node.name}")
        features = weights[products[0].input[1]].shape[0]
        constants[f"{node.output[0]}_{_ROWS}shape_2d"] = np.array([-1, features], dtype=np.int64)
        nodes += _row_quantizer(node)
        for product in products:
            product.input[2] = _ROWS + "zp_u8"
            added, colsum_name, colsum = _zero_point_correction(product, node, readers, writers, weights)
            nodes += added
            constants[colsum_name] = colsum
    del graph.node[:]
    graph.node.extend(_in_order(nodes, graph, set(constants)))
    graph.initializer.extend(numpy_helper.from_array(value, name) for name, value in constants.items())


def _row_quantizer(node: Any) -> list[Any]:
    """Nodes computing ``DynamicQuantizeLinear``'s outputs per row: the uint8 rows, their scales (shape
    ``[..., 1]``, under the old scale's name) and ``<prefix>offset``, ``s * (128 - z)`` per row, for
    :func:`_zero_point_correction`."""
    from onnx import TensorProto, helper

    x, (q, scale, _) = node.input[0], node.output
    c, p = _ROWS, f"{q}_{_ROWS}"

    def op(kind: str, inputs: list[str], output: str, **attributes: Any) -> Any:
        return helper.make_node(kind, inputs, [output], **attributes)

    return [
        op("ReduceMax", [x, c + "axes"], p + "max0", keepdims=1),
        op("ReduceMin", [x, c + "axes"], p + "min0", keepdims=1),
        op("Max", [p + "max0", c + "zero"], p + "max"),  # the range holds 0, so the zero point is in [0, 255]
        op("Min", [p + "min0", c + "zero"], p + "min"),
        op("Sub", [p + "max", p + "min"], p + "range0"),
        op("Max", [p + "range0", c + "tiny"], p + "range"),
        op("Mul", [p + "range", c + "level"], scale),
        op("Div", [p + "min", scale], p + "min_levels"),
        op("Round", [p + "min_levels"], p + "neg_zp"),
        op("Neg", [p + "neg_zp"], p + "zp"),
        op("Sub", [c + "zp", p + "zp"], p + "shift"),
        op("Mul", [p + "shift", scale], p + "offset"),
        op("Reshape", [p + "zp", c + "axes"], p + "zp_1d_float"),
        op("Cast", [p + "zp_1d_float"], p + "zp_1d", to=TensorProto.UINT8),
        op("Reshape", [scale, c + "axes"], p + "scale_1d"),
        op("Shape", [x], p + "shape"),
        op("Reshape", [x, f"{node.output[0]}_{_ROWS}shape_2d"], p + "rows_2d"),
        op("QuantizeLinear", [p + "rows_2d", p + "scale_1d", p + "zp_1d"], p + "rows_q", axis=0),
        op("Reshape", [p + "rows_q", p + "shape"], q),
    ]


def _zero_point_correction(
    product: Any, quantizer: Any, readers: dict[str, list[Any]], writers: dict[str, Any], weights: dict[str, Any]
) -> tuple[list[Any], str, np.ndarray]:
    """Add ``offset * colsum(W)`` to the float result of the ``MatMulInteger`` ``product`` (run with the fixed
    zero point 128) that its scale multiplication writes. Returns the two new nodes, the column sums' name and
    values."""
    from onnx import helper

    quantized, zero_point = weights[product.input[1]].astype(np.int64), weights[product.input[3]].astype(np.int64)
    cast = readers[product.output[0]][0]
    rescale = readers[cast.output[0]][0]  # Mul(cast result, input scale * weight scale)
    combined = next(name for name in rescale.input if name != cast.output[0])
    weight_scale = next(name for name in writers[combined].input if name != quantizer.output[1])
    colsum = (weights[weight_scale] * (quantized - zero_point).sum(axis=0)).astype(np.float32)
    result = rescale.output[0]
    rescale.output[0] = f"{result}_{_ROWS}uncorrected"
    name, offset = f"{product.output[0]}_{_ROWS}colsum", f"{quantizer.output[0]}_{_ROWS}offset"
    added = [
        helper.make_node("Mul", [offset, name], [f"{result}_{_ROWS}correction"]),
        helper.make_node("Add", [rescale.output[0], f"{result}_{_ROWS}correction"], [result]),
    ]
    return added, name, colsum


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
