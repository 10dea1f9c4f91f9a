"""int8 with activations quantized per token row, on one-layer ONNX graphs: close to fp32, and a row's result
independent of the rows batched with it (where ONNX Runtime's per-batch dynamic quantization is not); one-sided
inputs (after GELU) get a fixed zero point of 16, the others a symmetric scale."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from hatespeech import PipelineError  # noqa: E402
from hatespeech.model.int8 import ROW_SCALES, quantize_dynamic_int8, quantize_int8  # noqa: E402

FEATURES, OUTPUTS = 48, 24


def linear_model(path, activation: str | None = None) -> None:
    """x @ W + b as fp32 ONNX, with ``activation`` (an ONNX operator) applied to x first when given."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = rng.normal(0, 0.2, (FEATURES, OUTPUTS)).astype(np.float32)
    bias = rng.normal(0, 0.1, OUTPUTS).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["h", "w"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["y"])]
    nodes.insert(0, helper.make_node(activation or "Identity", ["x"], ["h"]))
    graph = helper.make_graph(
        nodes,
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "tokens", FEATURES])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "tokens", OUTPUTS])],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)]), str(path))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A linear layer and one behind GELU as fp32 ONNX, their dynamic quantization and every per-row kind."""
    folder = tmp_path_factory.mktemp("int8")
    paths = {}
    for prefix, activation in (("", None), ("gelu_", "Gelu")):
        paths[prefix + "fp32"] = folder / f"{prefix}fp32.onnx"
        linear_model(paths[prefix + "fp32"], activation)
        paths[prefix + "dynamic"] = folder / f"{prefix}dynamic.onnx"
        quantize_dynamic_int8(paths[prefix + "fp32"], paths[prefix + "dynamic"])
        for kind in ROW_SCALES:
            paths[f"{prefix}{kind}"] = folder / f"{prefix}{kind}.onnx"
            quantize_int8(paths[prefix + "fp32"], paths[f"{prefix}{kind}"], kind)
    paths["per_row"] = paths["one-sided"]  # the export stage's choice
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


@pytest.mark.parametrize("prefix", ["", "gelu_"])
def test_a_rows_result_does_not_depend_on_its_batch(models, prefix):
    rng = np.random.default_rng(2)
    text = rng.normal(0, 1, (1, 5, FEATURES))
    neighbour = rng.normal(0, 30, (1, 5, FEATURES))  # a loud text batched beside it
    batched = np.concatenate([text, neighbour])
    for kind in ROW_SCALES:
        assert np.array_equal(run(models[prefix + kind], text)[0], run(models[prefix + kind], batched)[0]), kind
    assert not np.allclose(
        run(models[prefix + "dynamic"], text)[0], run(models[prefix + "dynamic"], batched)[0], atol=1e-3
    )


def test_after_gelu_a_one_sided_row_scale_is_closer_to_fp32_than_a_symmetric_one(models):
    x = np.random.default_rng(3).normal(0, 1, (8, 16, FEATURES))  # after GELU: from -0.17 up
    reference = run(models["gelu_fp32"], x)
    error = {kind: np.abs(run(models["gelu_" + kind], x) - reference).mean() for kind in ROW_SCALES}
    # A fixed zero point of 16 spends 16 levels below zero, each row's own zero point only what its minimum needs.
    assert error["asymmetric"] < error["one-sided"] < min(1.1 * error["asymmetric"], 0.8 * error["symmetric"]), error
    # Without an activation before it, the input is two-sided: the default scale is the symmetric one.
    plain = {kind: onnx.load(str(models[kind])).graph.node for kind in ROW_SCALES}
    assert [n.op_type for n in plain["one-sided"]] == [n.op_type for n in plain["symmetric"]]
    assert "Round" in {n.op_type for n in plain["asymmetric"]} - {n.op_type for n in plain["symmetric"]}


def test_an_unknown_kind_of_row_scale_is_a_clear_error(models, tmp_path):
    with pytest.raises(PipelineError, match="row_scales must be one of one-sided, asymmetric, symmetric"):
        quantize_int8(models["fp32"], tmp_path / "out.onnx", "per-row")


def test_the_rewritten_graph_has_no_per_batch_quantizer_left(models):
    kinds = {node.op_type for node in onnx.load(str(models["per_row"])).graph.node}
    assert "DynamicQuantizeLinear" not in kinds and {"MatMulIntegerToFloat", "QuantizeLinear"} <= kinds
