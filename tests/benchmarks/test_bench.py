"""python -m bench.run --quick: the whole harness on the tiny BERT and synthetic tweets (structure, not speed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from helpers import ROOT, run

from bench.contention import worker_env
from hatespeech.threads import THREADS_ENV, WAIT_POLICY_ENV, usable_cpus

VARIANT_RATES = (
    "steps_timed",
    "samples",
    "seconds",
    "samples_per_s",
    "real_tokens_per_s",
    "padded_tokens_per_s",
    "mean_padded_length",
    "default_speedup",
)


@pytest.mark.slow  # the whole harness, about a minute
def test_quick_benchmark_writes_a_complete_report(csv_file: Path, tiny_model: Path, tmp_path: Path):
    out = tmp_path / "report.json"
    result = run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--quick",
            "--data",
            str(csv_file),
            "--model",
            str(tiny_model),
            "--out",
            str(out),
        ],
        cwd=ROOT,
    )
    report = json.loads(out.read_text())

    assert report["mode"] == "quick" and report["duration_s"] > 0
    machine = report["machine"]
    assert machine["cpu"] and machine["cpu_cores"] > 0 and machine["torch"] and machine["device"]

    variants = report["training"]["variants"]
    assert [v["role"] for v in variants] == ["static_max", "static_short", "dynamic", "default"]
    for variant in variants:
        for key in VARIANT_RATES:
            assert variant[key] > 0, (variant["name"], key)
        assert 0 <= variant["padding_share"] < 1
        # Static padding computes every padded position; per-batch padding computes fewer.
        assert variant["padded_tokens_per_s"] >= variant["real_tokens_per_s"]
    assert all(v["padding"] == "max_length 128" for v in variants[:2])  # the tiny BERT's limit caps 512 at 128
    # Every variant but the longest padding trains on the same examples and is scored on the test split.
    assert len({v["examples"] for v in variants[1:]}) == 1
    for variant in variants[1:]:
        assert variant["test"]["f1_macro"] > 0 and variant["test"]["examples"] > 0
    assert "test" not in variants[0]

    stages = report["data_stages"]["stages"]
    assert list(stages) == ["download", "split", "augment", "tokenize_splits"]
    assert all(s["stage_s"] > 0 and s["process_s"] >= s["stage_s"] for s in stages.values())
    assert report["data_stages"]["rows"] > 0
    assert report["pipeline"]["noop_repro_s"] > 0 and report["pipeline"]["status_s"] > 0

    # No trained model is given, so the inference rows are left out with a reason (bench/serving.py or not).
    assert report["inference"]["status"] == "not available" and report["inference"]["reason"]

    # The training levers: params.yaml's training first, then one row per lever switched, against the ceiling.
    speed = report["speed"]
    assert list(speed["precisions"]) == ["fp32"]  # --quick times fp32 only
    fp32 = speed["precisions"]["fp32"]
    assert fp32["ceiling"]["samples_per_s"] > 0 and fp32["ceiling"]["matmul_gflops"] > 0
    rows = fp32["rows"]
    assert [row["name"] for row in rows] == [
        "default",
        "optimizer adamw_torch",
        "attention eager",
        "compile true",
        f"batch_tokens {rows[4]['settings']['batch_tokens']}",
        "dropout 0.0",
    ]
    # A token budget of a default batch of mean-length tweets.
    assert rows[4]["settings"]["batch_tokens"] == pytest.approx(speed["batch_size"] * speed["mean_tokens"], abs=1)
    assert rows[0]["vs_default"] == 1.0 and rows[0]["settings"] == {}
    for row in rows:
        assert row["samples_per_s"] > 0 and row["end_to_end_samples_per_s"] > 0 and row["first_steps_extra_s"] >= 0
        assert row["share_of_ceiling"] == pytest.approx(
            row["samples_per_s"] / fp32["ceiling"]["samples_per_s"], rel=1e-2, abs=1e-3
        )
        assert 0 < row["validation"]["f1_macro"] <= 1 and row["validation"]["examples"] == speed["validation_examples"]
    profile = fp32["default_step_profile"]
    assert sum(part["share"] for part in profile) == pytest.approx(1.0, abs=0.02)
    assert "matrix products (linear layers)" in {part["part"] for part in profile}
    assert "training ceiling" in result.stdout and "share of ceiling" in result.stdout

    assert len(report["targets"]) == 6  # the five above and the default's share of the fp32 ceiling
    assert all(isinstance(t["met"], bool) and t["value"] >= 0 for t in report["targets"])

    # The printed table names every variant and every target.
    for variant in variants:
        assert variant["name"] in result.stdout
    assert result.stdout.count("met") + result.stdout.count("MISSED") >= len(report["targets"])


def test_full_mode_without_data_is_a_clear_error(tmp_path: Path):
    result = run([sys.executable, "-m", "bench.run", "--out", str(tmp_path / "r.json")], cwd=ROOT, check=False)
    assert result.returncode == 2
    assert "error: bench: give the data: --data" in result.stderr
    assert not (tmp_path / "r.json").exists()


@pytest.mark.slow  # dvc and stage processes
def test_pipeline_overhead_refuses_a_pipeline_that_would_run_stages(csv_file: Path, tiny_model: Path, tmp_path: Path):
    from helpers import init_repo, make_project

    from bench.errors import BenchError
    from bench.pipeline import time_noop_pipeline

    project = make_project(tmp_path / "repo", str(csv_file), str(tiny_model))
    init_repo(project)  # never reproduced: `dvc repro` would run all five stages
    with pytest.raises(BenchError, match="is not up to date"):
        time_noop_pipeline(project, repeats=1)
    assert not (project / "dvc.lock").exists()


def test_inference_rows_report_a_failure_instead_of_raising(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import bench.serving
    from bench.run import serving_rows

    calls = []

    def fake(model_dir, onnx_dir, texts, quick=False):
        calls.append((model_dir, onnx_dir, list(texts), quick))
        return {"rows": [{"name": "batched", "texts_per_s": 10.0 * len(texts)}]}

    monkeypatch.setattr(bench.serving, "run_serving_benchmark", fake)
    ok = serving_rows(tmp_path, None, ["a", "b"], True)
    assert ok["status"] == "ok" and ok["result"]["rows"][0]["texts_per_s"] == 20.0
    assert calls == [(str(tmp_path), None, ["a", "b"], True)]
    assert serving_rows(None, None, ["a"], True)["status"] == "not available"

    def broken(*args, **kwargs):
        raise RuntimeError("no ONNX Runtime")

    monkeypatch.setattr(bench.serving, "run_serving_benchmark", broken)
    failed = serving_rows(tmp_path, None, ["a"], True)
    assert failed == {"status": "failed", "error": "RuntimeError: no ONNX Runtime"}


@pytest.mark.slow  # four measurements in fresh processes, a minute or more
@pytest.mark.skipif(len(usable_cpus()) < 2, reason="a competitor needs a core of its own")
def test_contention_mode_measures_each_setting_idle_and_busy(csv_file: Path, tiny_model: Path, tmp_path: Path):
    out = tmp_path / "contention.json"
    command = [sys.executable, "-m", "bench.contention", "--quick", "--data", str(csv_file), "--model", str(tiny_model)]
    result = run([*command, "--out", str(out)], cwd=ROOT)
    report = json.loads(out.read_text())

    rows = {(row["setting"], row["load"]): row for row in report["rows"]}
    settings = ("torch default", "fair share")  # --quick: the two the targets compare
    assert set(rows) == {(s, load) for s in settings for load in ("idle", "busy")}
    for row in rows.values():
        assert row["train_samples_per_s"] > 0 and row["inference_texts_per_s"] > 0 and row["train_steps_timed"] >= 1
    for setting in settings:
        assert rows[(setting, "idle")]["train_samples_share_of_idle"] == 1.0
    # Pinned settings use every core; the project's choice leaves the competitor's cores to it.
    assert rows[("torch default", "busy")]["threads"] == rows[("torch default", "idle")]["threads"]
    assert rows[("torch default", "busy")]["wait_policy"] == "default"
    assert rows[("fair share", "busy")]["threads"] < rows[("torch default", "busy")]["threads"]
    assert "busy with other work" in rows[("fair share", "busy")]["thread_choice"]
    # The third setting of a full run: every core, waiting threads asleep.
    passive = worker_env("all cores, passive")
    assert passive[WAIT_POLICY_ENV] == "PASSIVE" and passive[THREADS_ENV] == str(len(usable_cpus()))
    assert [t["met"] in (True, False) for t in report["targets"]] == [True, True]
    assert "fair share" in result.stdout and ("met" in result.stdout or "MISSED" in result.stdout)


@pytest.mark.slow  # two real servers, a few seconds of load each
def test_load_benchmark_reports_levels_soak_and_an_overload_answered_only_200_429_503(
    csv_file: Path, trained_model, tmp_path: Path
):
    out = tmp_path / "load.json"
    command = [sys.executable, "-m", "bench.load", "--quick", "--model", str(trained_model.model_dir)]
    result = run([*command, "--data", str(csv_file), "--threads", "1", "--out", str(out)], cwd=ROOT)
    report = json.loads(out.read_text())
    torch = report["backends"]["torch"]
    assert [row["clients"] for row in torch["levels"]] == [1, 8, 32]
    for row in torch["levels"]:
        assert row["statuses"] == {"200": row["requests"]} and row["unanswered"] == 0
        assert row["texts_per_s"] > 0 and row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"]
    assert torch["ratio_32_clients_vs_offline"] > 0 and torch["offline_texts_per_s"] > 0
    assert torch["soak"]["rss_mb_samples"] >= 4 and torch["soak"]["rss_mb_first_quarter"] > 0
    overload = torch["overload"]
    # The tiny model answers fast, but 32 clients asking for twice its capacity still get refused (rate or queue).
    assert set(overload["statuses"]) <= {"200", "429", "503"} and overload["unanswered"] == 0
    assert overload["only_200_429_503"] and overload["none_unanswered"]
    refused = overload["statuses"].get("429", 0) + overload["statuses"].get("503", 0)
    assert refused > 0 and overload["settings"]["max_queue_texts"] == "64"
    perspective = torch["perspective"]  # one text per request, /predict against comments:analyze
    assert set(perspective["texts_per_s"]) == {"/predict", "/v1alpha1/comments:analyze"}
    assert all(speed > 0 for speed in perspective["texts_per_s"].values()) and perspective["analyze_vs_predict"] > 0
    assert [target["name"] for target in report["targets"]][0] == "torch 32 clients / offline"
    assert "overload: 32 clients on 4 keys" in result.stdout and ("met" in result.stdout or "MISSED" in result.stdout)
