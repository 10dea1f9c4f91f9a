"""int8 with activations quantized per token row, on a one-layer ONNX graph: close to fp32, and a row's result
independent of the rows batched with it (where ONNX Runtime's per-batch dynamic quantization is not)."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from hatespeech.model.int8 import quantize_dynamic_int8, quantize_int8  # noqa: E402

FEATURES, OUTPUTS = 48, 24


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A linear layer x @ W + b as fp32 ONNX, and its dynamic and per-row int8 quantizations."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = rng.normal(0, 0.2, (FEATURES, OUTPUTS)).astype(np.float32)
    bias = rng.normal(0, 0.1, OUTPUTS).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["y"])],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "tokens", FEATURES])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "tokens", OUTPUTS])],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")],
    )
    folder = tmp_path_factory.mktemp("int8")
    paths = {name: folder / f"{name}.onnx" for name in ("fp32", "dynamic", "per_row")}
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)]), str(paths["fp32"]))
    quantize_dynamic_int8(paths["fp32"], paths["dynamic"])
    quantize_int8(paths["fp32"], paths["per_row"])
    return paths


def run(path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x.astype(np.float32)})[0]


def test_per_row_int8_is_close_to_fp32_and_closer_than_per_batch_scales(models):
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (4, 7, FEATURES))
    x[0, 0] *= 40  # one token far outside the others' range: a per-batch scale blurs every other token
    reference = run(models["fp32"], x)
    per_row = np.abs(run(models["per_row"], x) - reference)[1:]
    dynamic = np.abs(run(models["dynamic"], x) - reference)[1:]
    assert per_row.max() < 0.05 < dynamic.max()
    # A row holding only positive values (after GELU, say) and a row of zeros keep their values.
    positive, zeros = np.abs(x[1:2]), np.zeros((1, 7, FEATURES))
    assert np.abs(run(models["per_row"], positive) - run(models["fp32"], positive)).max() < 0.05
    assert np.allclose(run(models["per_row"], zeros), run(models["fp32"], zeros), atol=1e-5)


def test_a_rows_result_does_not_depend_on_its_batch(models):
    rng = np.random.default_rng(2)
    text = rng.normal(0, 1, (1, 5, FEATURES))
    neighbour = rng.normal(0, 30, (1, 5, FEATURES))  # a loud text batched beside it
    batched = np.concatenate([text, neighbour])
    assert np.array_equal(run(models["per_row"], text)[0], run(models["per_row"], batched)[0])
    assert not np.allclose(run(models["dynamic"], text)[0], run(models["dynamic"], batched)[0], atol=1e-3)


def test_the_rewritten_graph_has_no_per_batch_quantizer_left(models):
    kinds = {node.op_type for node in onnx.load(str(models["per_row"])).graph.node}
    assert "DynamicQuantizeLinear" not in kinds and {"MatMulInteger", "QuantizeLinear"} <= kinds
