"""The export stage (ONNX fp32 + int8) on the tiny fine-tuned model: parity with PyTorch, a self-contained
ONNX directory served by predict and the service, clean errors; and the serving benchmark's report."""

from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from helpers import ESCAPED, RAW, ROOT, make_project, run_script, stage_command

from hatespeech import LABELS, PipelineError
from hatespeech.data.text import Normalizer
from hatespeech.model.calibration import Calibration
from hatespeech.model.decision import DecisionRule
from hatespeech.model.inference import Classifier
from hatespeech.model.policy import Policies
from hatespeech.scoring.predict import main as predict_main
from hatespeech.service.main import create_app
from hatespeech.service.settings import Settings

EXPORT = stage_command("export")
TEXTS = ["zorgon blapper the", "sunny garden coffee lol", "dang frick my", "kravix", "what a puppy today"]
RULE = DecisionRule(
    offsets={"hate_speech": 0.4, "offensive_language": 0.0, "neither": -0.1},
    kind="offsets",
    fitted_on="validation",
    examples=24,
)

pytestmark = pytest.mark.slow  # ONNX export of the tiny model (tens of seconds)


@pytest.fixture(scope="module")
def exported(trained_model, tmp_path_factory) -> SimpleNamespace:
    """A project holding what train and tokenize write (plus a decision rule and training metadata),
    after running the export stage exactly as dvc.yaml's cmd gives it."""
    project = make_project(tmp_path_factory.mktemp("export"), "unused", "unused")
    shutil.copytree(trained_model.model_dir, project / "models/model")
    shutil.copytree(trained_model.tokenized, project / "data/tokenized")
    RULE.save(project / "models/model")
    metadata = {"checkpoint": "tiny", "data_sha256": "0" * 64, "seed": 0, "params": {}}
    (project / "models/model/training_metadata.json").write_text(json.dumps(metadata))
    result = run_script(project, *EXPORT)
    return SimpleNamespace(project=project, result=result, onnx=project / "models/onnx", metadata=metadata)


def test_export_writes_both_models_and_meets_parity(exported):
    assert exported.result.returncode == 0, exported.result.stderr
    files = {p.name for p in exported.onnx.iterdir()}
    assert {
        "model.onnx",
        "model.int8.onnx",
        "config.json",
        "tokenizer.json",
        "decision_rule.json",
        "training_metadata.json",
    } <= files
    assert not list(exported.project.rglob("*.tmp"))
    parity = json.loads((exported.project / "metrics/onnx_parity.json").read_text())
    assert parity["examples"] > 0
    assert parity["onnx"]["argmax_agreement"] >= 0.999 and parity["onnx-int8"]["argmax_agreement"] >= 0.995
    for backend in ("onnx", "onnx-int8"):
        assert abs(parity[backend]["f1_macro_difference"]) <= 0.002 and parity[backend]["passed"] is True
    assert parity["onnx-int8"]["size_mb"] < parity["onnx"]["size_mb"]
    for backend in ("torch", "onnx", "onnx-int8"):  # alone vs beside the longest test texts
        assert parity[backend]["batch_difference"] <= parity["max_batch_difference"] == 1e-4, backend


def test_exported_files_do_not_depend_on_where_the_repository_is(exported):
    """The exporter's debug notes held absolute paths, so the same model exported from two clones differed."""
    for name in ("model.onnx", "model.int8.onnx"):
        data = (exported.onnx / name).read_bytes()
        assert str(exported.project).encode() not in data and str(ROOT).encode() not in data, name
        assert b"pkg.torch.onnx.stack_trace" not in data, name


def test_onnx_directory_is_self_contained_and_matches_pytorch(exported, trained_model, tmp_path):
    moved = tmp_path / "elsewhere"
    shutil.copytree(exported.onnx, moved)  # nothing may point back at models/model
    reference = Classifier(exported.project / "models/model", "torch").predict(TEXTS)
    fp32 = Classifier(moved, "onnx")
    assert fp32.rule == RULE and fp32.labels == list(LABELS)
    # The model's normalizer travels with it: the ONNX backends clean texts as the model was trained.
    assert fp32.normalizer == Normalizer() and fp32.predict(ESCAPED) == fp32.predict(RAW)
    for result, expected in zip(fp32.predict(TEXTS, batch_size=2), reference):
        assert result["label"] == expected["label"]
        assert result["scores"] == pytest.approx(expected["scores"], abs=1e-4)
    # The calibration and the policies travel too: the ONNX backends answer the same calibrated scores and actions.
    assert fp32.calibration == Calibration.load(trained_model.model_dir) and fp32.calibration.calibrated
    assert fp32.policies == Policies.load(trained_model.model_dir)
    torch_model = Classifier(exported.project / "models/model", "torch")
    for name in fp32.policies.names:
        actions = [r["action"] for r in fp32.predict(TEXTS, policy=fp32.policy(name))]
        assert actions == [r["action"] for r in torch_model.predict(TEXTS, policy=torch_model.policy(name))]
    # int8: weights rounded, so scores move a little; labels must not. Without AVX512-VNNI onnxruntime's int8
    # kernels (u8s8 on AVX2) round more coarsely: up to 0.042 on this tiny model on a Zen 3 EPYC, 0.03 with VNNI.
    for result, expected in zip(Classifier(moved, "onnx-int8").predict(TEXTS), reference):
        assert result["label"] == expected["label"]
        assert result["scores"] == pytest.approx(expected["scores"], abs=0.05)


# Short texts and long neighbours: the longest pad every batch they are in to far more tokens than the short need.
LONG = [" ".join(["zorgon blapper sunny garden dang frick"] * 12), " ".join(["what a puppy today lol"] * 14)]


@pytest.mark.parametrize("backend", ["torch", "onnx", "onnx-int8"])
def test_a_texts_scores_do_not_depend_on_its_batch(exported, backend):
    """Scored alone, and in a batch with long texts (more padding, other activations): the same probabilities,
    to 1e-5 (float rounding). int8 activations are quantized per token, not with one scale per batch."""
    directory = exported.project / "models/model" if backend == "torch" else exported.onnx
    classifier = Classifier(directory, backend, threads=1)
    alone = [classifier.predict([text])[0] for text in TEXTS]
    batched = classifier.predict(TEXTS + LONG * 4, batch_size=len(TEXTS) + 8)[: len(TEXTS)]
    for one, many in zip(alone, batched):
        assert one["label"] == many["label"]
        assert many["scores"] == pytest.approx(one["scores"], abs=1e-5)


def test_predict_and_service_run_on_the_int8_backend(exported, capsys, monkeypatch):
    monkeypatch.setenv("HATESPEECH_BACKEND", "onnx-int8")
    assert predict_main(["--model", str(exported.onnx), *TEXTS]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = Classifier(exported.onnx, "onnx-int8").predict(TEXTS)
    assert [row["text"] for row in rows] == TEXTS
    assert [row["label"] for row in rows] == [e["label"] for e in expected]

    monkeypatch.setenv("HATESPEECH_MODEL_DIR", str(exported.onnx))
    with TestClient(create_app(Settings.load())) as client:
        answer = client.post("/predict", json={"texts": TEXTS})
        info = client.get("/model").json()
    assert answer.status_code == 200
    assert [p["label"] for p in answer.json()["predictions"]] == [e["label"] for e in expected]
    assert info["backend"] == "onnx-int8" and info["precision"] == "fp32"
    assert info["decision_rule"]["offsets"] == RULE.offsets
    assert info["checkpoint"] == "tiny" and info["data_sha256"] == exported.metadata["data_sha256"]


def test_export_without_a_trained_model_fails_cleanly(tmp_path, trained_model):
    project = make_project(tmp_path / "p", "unused", "unused")
    shutil.copytree(trained_model.tokenized, project / "data/tokenized")
    result = run_script(project, *EXPORT)
    assert result.returncode == 2, result.stderr
    assert "error: export: model directory not found: models/model" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "models").exists() and not (project / "metrics").exists()


def test_bf16_applies_to_the_torch_backend_only(exported):
    with pytest.raises(PipelineError, match="precision bf16 applies to the torch backend; onnx-int8 runs"):
        Classifier(exported.onnx, "onnx-int8", precision="bf16")


def test_serving_benchmark_report_structure(exported, shared_dir):
    from bench.serving import run_serving_benchmark
    from hatespeech.model.inference import DEFAULT_BATCH_SIZE
    from hatespeech.model.precision import cpu_has_native_bf16

    report = run_serving_benchmark(exported.project / "models/model", exported.onnx, TEXTS * 10, quick=True)
    assert report["texts"] == 32 and report["quick"] is True and report["batch_size"] == DEFAULT_BATCH_SIZE
    precisions = ["fp32", "bf16"] if cpu_has_native_bf16() else ["fp32"]  # bf16 only where the CPU multiplies it
    assert [row["name"] for row in report["rows"]] == [
        "pipeline_one_at_a_time",
        f"pipeline_batch_{DEFAULT_BATCH_SIZE}",
        "sorted_batches_torch",
        *(["sorted_batches_torch_bf16"] if "bf16" in precisions else []),
        "sorted_batches_onnx",
        "sorted_batches_onnx_int8",
        "sorted_batches_onnx_int8_dynamic",
        "sorted_batches_torch_compiled",  # the training levers on inference
        "sorted_batches_torch_eager_attention",
    ]
    assert all(row["texts_per_s"] > 0 and row["seconds"] > 0 and row["first_call_s"] >= 0 for row in report["rows"])
    first_call = {row["name"]: row["first_call_s"] for row in report["rows"]}
    assert first_call["sorted_batches_torch_compiled"] > first_call["sorted_batches_torch"]  # it compiled
    assert any((shared_dir / "torchinductor").rglob("*.so"))  # kernels in the session's own cache
    # Every PyTorch and ONNX fp32 (or bf16) row is a share of its arithmetic's ceiling; int8 and the pipeline not.
    names = [row["name"] for row in report["rows"]]
    shared = {row["name"] for row in report["rows"] if "share_of_ceiling" in row}
    assert shared == {name for name in names if name.startswith("sorted_batches") and "int8" not in name}
    agreement = {row["name"]: row["argmax_agreement"] for row in report["rows"]}
    # Every path computes the same model: the pipeline and ONNX fp32 agree exactly with PyTorch on 32 texts.
    assert (
        agreement["sorted_batches_torch"]
        == agreement["pipeline_one_at_a_time"]
        == agreement["sorted_batches_onnx"]
        == agreement["sorted_batches_torch_compiled"]
        == agreement["sorted_batches_torch_eager_attention"]
        == 1.0
    )
    assert all(0.9 <= value <= 1.0 for value in agreement.values())
    assert list(report["ceilings"]) == precisions
    assert all(c["texts_per_s"] > 0 and c["matmul_gflops"] > 0 for c in report["ceilings"].values())
    assert 0 < report["mean_tokens"] <= 128
    assert list(report["targets"]) == [f"torch {p}" for p in precisions]
    for targets in report["targets"].values():
        assert set(targets) == {"sorted_batches_vs_one_at_a_time", "onnx_int8_vs_torch_batches"}
        assert all(t["met"] == (t["value"] >= t["target"]) for t in targets.values())
    assert {"cpu", "cores", "torch", "onnxruntime"} <= set(report["machine"])
    cost = report["policy_cost"]  # the model's default policy, timed on its own
    assert cost["policy"] == "watchful" and cost["added_us_per_text"] >= 0
    assert cost["met"] == (cost["share_of_default_path"] < cost["target"])
    json.dumps(report)  # the --out file


def test_every_file_the_normalizer_saves_travels_with_the_onnx_model(tmp_path):
    """What a model directory needs to clean texts as in training (settings and spelling word lists) is among the
    side files export copies: an ONNX directory without the lists would score disguised words uncorrected."""
    from hatespeech.data.spelling import Spelling
    from hatespeech.model.export import SIDE_FILES

    Normalizer().with_spelling(Spelling.build(["faggot"], ["faggot"], ["the"])).save(tmp_path)
    assert {path.name for path in tmp_path.iterdir()} <= set(SIDE_FILES)


def test_int8_benchmark_sets_the_schemes_side_by_side(exported, tmp_path):
    from bench.int8 import main

    out = tmp_path / "int8.json"
    assert (
        main(
            [
                "--onnx",
                str(exported.onnx),
                "--data",
                str(exported.project / "data/tokenized"),
                "--rounds",
                "1",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    rows = {row["name"]: row for row in json.loads(out.read_text())["rows"]}
    assert list(rows) == [
        "fp32",
        "per_row",
        "per_row_asymmetric",
        "per_row_symmetric",
        "dynamic",
        "dynamic_one_text",
        "static",
    ]
    assert rows["dynamic"]["vs_dynamic"] == 1.0 and all(row["texts_per_s"] > 0 for row in rows.values())
    assert rows["fp32"]["argmax_agreement"] == 1.0 and rows["per_row"]["argmax_agreement"] >= 0.99
    for name in ("fp32", "per_row", "per_row_asymmetric", "per_row_symmetric", "static"):  # dynamic's follow the batch
        assert rows[name]["batch_difference"] <= 1e-4, name
    # The dynamic model scoring each text alone: its own scale, no padding, so nothing moves with its neighbours.
    assert rows["dynamic_one_text"]["batch_difference"] == 0
    assert rows["per_row"]["size_mb"] < rows["fp32"]["size_mb"]
