"""hatespeech-score: an archive scored on a real local Ray (Ray Data, an actor pool), equal to hatespeech-predict;
CSV, JSON lines, Parquet and text files from a folder or a glob; bad rows to an errors file; resume after SIGKILL;
s3:// input and output through the live S3 server (rclone) with a DVC remote's settings."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from helpers import ESCAPED, PINNED_THREADS, RAW, free_port, init_repo, make_project, run, run_dvc_lines, tool_env

from hatespeech import LABELS, PipelineError
from hatespeech.scoring.job import plan, read_scores
from hatespeech.scoring.readers import check_columns, file_kind, input_files, read_shard, shard_name
from hatespeech.testing import make_rows

SCORE = [sys.executable, "-m", "hatespeech.scoring.cli"]
STATUS = [str(Path(sys.executable).parent / "ray"), "status"]
NO_TOKEN = {"RAY_AUTH_MODE": "disabled"}  # a head on this machine for this module's jobs only
SHARDS_TO_KILL = ("part0.csv.gz", "part1.jsonl")
PROBABILITIES = [f"p_{name}" for name in LABELS]


# --- Reading (no Ray) --------------------------------------------------------------------------------------------


def test_bad_rows_are_reported_with_their_row_and_reason_and_the_rest_is_read():
    csv_bytes = b'id,text\n1,fine tweet\n2,\n3,"unclosed\n'
    shard = read_shard(csv_bytes + b"4,caf\xe9 latin-1\n5,last one\n", "a.csv", "csv", "text", "id")
    assert shard.texts == ["fine tweet"] and shard.ids == ["1"]
    reasons = {error["row"]: error["reason"] for error in shard.errors}
    assert reasons[1] == "empty text" and all(error["source"] == "a.csv" for error in shard.errors)
    jsonl = b'{"text": "one"}\n{not json\n\n{"text": 5}\n["a list"]\n{"text": "five", "id": "x"}\n\xff\xfe\n'
    shard = read_shard(jsonl, "b.jsonl", "jsonl", "text", None)
    assert shard.texts == ["one", "five"] and shard.rows == [0, 4]
    assert [e["reason"] for e in shard.errors] == [
        "line 2 is not valid JSON",
        "the text is a int, not a string",
        "line 5 is not a JSON object",
        "line 7 is not valid UTF-8",
    ]
    lines = read_shard(b"first\n\n  \nsecond\r\n", "c.txt", "lines", "text", None)
    assert lines.texts == ["first", "second"] and lines.rows == [0, 1] and lines.ids == ["0", "1"]


def test_an_input_that_cannot_be_read_at_all_is_one_clear_error(tmp_path):
    with pytest.raises(PipelineError, match="no column 'tweet'"):
        read_shard(b"id,text\n1,a\n", "a.csv", "csv", "tweet", None)
    with pytest.raises(PipelineError, match="not a readable parquet file"):
        read_shard(b"not parquet", "a.parquet", "parquet", "text", None)
    with pytest.raises(PipelineError, match="no such file or folder"):
        input_files([str(tmp_path / "missing")], {})
    (tmp_path / "notes.md").write_text("x")
    with pytest.raises(PipelineError, match="no input files"):
        input_files([str(tmp_path)], {})


def test_headers_are_checked_before_the_job_starts_and_an_unreadable_one_is_left_to_the_reader(tmp_path):
    import gzip

    (tmp_path / "ok.csv.gz").write_bytes(gzip.compress(b"id,tweet\n1,a\n"))
    pd.DataFrame({"id": [1], "tweet": ["a"]}).to_parquet(tmp_path / "ok.parquet")
    (tmp_path / "rows.jsonl").write_text('{"text": "a"}\n')  # JSON lines: a field per row, reported per row
    good = [str(tmp_path / name) for name in ("ok.csv.gz", "ok.parquet")]
    check_columns(good, {}, None, "tweet", "id")
    check_columns([str(tmp_path / "rows.jsonl")], {}, None, "tweet", None)
    with pytest.raises(PipelineError, match=r"ok.parquet: no column 'text' \(columns: id, tweet\); see --column"):
        check_columns(good[1:], {}, None, "text", None)
    with pytest.raises(PipelineError, match=r"ok.csv.gz: no column 'key'"):
        check_columns(good, {}, None, "tweet", "key")
    (tmp_path / "notes.md").write_text("x")
    with pytest.raises(PipelineError, match="unknown format; pass --format"):
        check_columns([str(tmp_path / "notes.md")], {}, None, "text", None)
    (tmp_path / "bad.csv").write_bytes(b"\xff\xfe,\n")  # not UTF-8: read_shard names it in the job
    check_columns([str(tmp_path / "bad.csv")], {}, None, "text", None)


def test_folders_and_globs_list_each_file_once_and_shard_names_are_stable(tmp_path):
    for name in ("a.csv", "b.jsonl", "sub/c.parquet", "sub/d.txt", "sub/e.csv.gz", "skip.md", "skip.parquet.gz"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    found = input_files([str(tmp_path), str(tmp_path / "*.csv")], {})
    assert [Path(p).name for p in found] == ["a.csv", "b.jsonl", "c.parquet", "d.txt", "e.csv.gz"]
    assert [file_kind(p) for p in found] == ["csv", "jsonl", "parquet", "lines", "csv"]
    assert shard_name(found[0]) == shard_name(found[0]) != shard_name(str(tmp_path / "other" / "a.csv"))
    assert shard_name(found[0]).startswith("a.csv-")


def test_the_actor_pool_always_leaves_ray_data_a_cpu():
    assert plan(None, None, 0.0, 2, 2.0) == (1, 2, 1.0)  # one actor, both cores' threads, one CPU reserved
    assert plan(2, None, 0.0, 2, 2.0) == (2, 1, 0.5)
    assert plan(None, 2, 0.0, None, 16.0) == (7, 2, 2.0)  # a cluster: its CPUs in actors of 2, one spare
    assert plan(1, 2, 0.0, None, 2.0) == (1, 2, 1.0)  # asked for all of a small cluster: one CPU left to Ray Data
    assert plan(None, None, 1.0, None, 16.0) == (1, 1, 1.0)  # GPU actors


# --- Scoring on a real local Ray ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory):
    """One Ray head on 127.0.0.1 (`ray start --head`, as on a cluster) for the jobs after the first: they join it
    with `--address` instead of each starting a local Ray. The archive's own job starts its local Ray, the
    default path; `tests/conftest.py` runs this module's Ray jobs on one worker (the archive group)."""
    port = free_port()
    temp = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # short: Ray's socket paths have a length limit
    command = [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block", f"--port={port}"]
    command += ["--node-ip-address=127.0.0.1", "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats"]
    log = tmp_path_factory.mktemp("ray-head") / "ray.log"
    with open(log, "wb") as out:
        head = subprocess.Popen(
            [*command, f"--temp-dir={temp}"], env={**tool_env(), **PINNED_THREADS, **NO_TOKEN}, stdout=out, stderr=out,
            start_new_session=True,
        )  # fmt: skip
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while run([*STATUS, "--address", address], cwd=temp, check=False, env=NO_TOKEN).returncode != 0:
            assert head.poll() is None, f"ray start exited ({head.returncode}): {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"the Ray head did not come up in 120 s: {log.read_text()[-3000:]}"
        yield address
    finally:
        os.killpg(head.pid, signal.SIGKILL)  # its processes share the group; nothing of it is kept
        head.wait(timeout=60)
        shutil.rmtree(temp, ignore_errors=True)


def _write_inputs(folder: Path, texts: list[str]) -> None:
    """The same texts in four formats (the CSV gzip-compressed), with ids, in four shards."""
    folder.mkdir(parents=True)
    quarter = len(texts) // 4
    parts = [texts[i * quarter : (i + 1) * quarter] for i in range(4)]
    frame = pd.DataFrame({"id": [f"c{i}" for i in range(quarter)], "text": parts[0]})
    frame.to_csv(folder / "part0.csv.gz", index=False)  # gzip, like the shipped data copy
    with open(folder / "part1.jsonl", "w", encoding="utf-8") as handle:
        for i, text in enumerate(parts[1]):
            handle.write(json.dumps({"id": f"j{i}", "text": text}) + "\n")
    pd.DataFrame({"id": [f"p{i}" for i in range(quarter)], "text": parts[2]}).to_parquet(folder / "part2.parquet")
    (folder / "sub").mkdir()
    (folder / "sub" / "part3.txt").write_text("\n".join(parts[3]) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def archive(tmp_path_factory, trained_model):
    """Synthetic tweets in four files of four formats, scored once by hatespeech-score (torch backend, tiny model)
    and once by hatespeech-predict."""
    root = tmp_path_factory.mktemp("archive")
    # (make_rows adds retweets beyond n); the last six: tweets as users send them and as the dataset escapes them
    texts = [row[6] for row in make_rows(400, seed=5)][:394] + RAW + ESCAPED
    _write_inputs(root / "in", texts)
    command = [*SCORE, str(root / "in"), "--out", str(root / "out"), "--backend", "torch"]
    command += ["--model", str(trained_model.model_dir), "--id-column", "id", "--batch-size", "16"]
    command += ["--policy", "watchful"]  # the model's default, which hatespeech-predict applies unasked
    scored = run(command, cwd=root, env=PINNED_THREADS)
    (root / "texts.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    predict = [sys.executable, "-m", "hatespeech.scoring.predict", "--backend", "torch", "--quiet"]
    predicted = run([*predict, "--model", str(trained_model.model_dir), "--file", str(root / "texts.txt")], cwd=root)
    return SimpleNamespace(
        root=root,
        texts=texts,
        scored=scored,
        predictions=[json.loads(line) for line in predicted.stdout.splitlines()],
        command=command,
        model=trained_model.model_dir,
    )


def _in_input_order(out: Path) -> pd.DataFrame:
    """The outputs of the four shards in the order _write_inputs split the texts."""
    frames = {}
    for file in out.glob("*.parquet"):
        frames[file.name.split(".")[0]] = pd.read_parquet(file)
    return pd.concat([frames[f"part{i}"] for i in range(4)], ignore_index=True)


@pytest.mark.slow
def test_scores_equal_hatespeech_predicts_for_every_input_format(archive):
    assert "400 texts scored, 0 errors, 4 shard(s)" in archive.scored.stderr, archive.scored.stderr
    scored = _in_input_order(archive.root / "out")
    assert list(scored.columns) == ["row", "id", "label", "score", *PROBABILITIES, "action", "policy", "reason"]
    for column in ("label", "action", "policy", "reason"):  # the same calibrated scores give the same actions
        values = scored[column].astype(object).where(scored[column].notna(), None)  # a missing reason: null
        assert values.tolist() == [p[column] for p in archive.predictions], column
    assert len(set(scored["action"])) >= 2
    for name in LABELS:
        expected = [p["scores"][name] for p in archive.predictions]
        assert scored[f"p_{name}"].to_numpy() == pytest.approx(expected, abs=1e-5)
    assert scored["id"].tolist()[:2] == ["c0", "c1"] and "j0" in scored["id"].tolist()
    summary = json.loads((archive.root / "out" / "_summary.json").read_text())
    assert summary["texts"] == 400 and summary["errors"] == 0 and summary["texts_per_s"] > 0
    assert not list((archive.root / "out").glob("*.tmp"))
    # The model's normalizer: a tweet and its HTML-escaped form get the same scores.
    probabilities = scored[[f"p_{name}" for name in LABELS]].to_numpy()
    assert (probabilities[-6:-3] == probabilities[-3:]).all() and scored["label"][-6:-3].tolist() == scored["label"][
        -3:
    ].tolist()


@pytest.mark.slow
def test_a_rerun_scores_nothing_and_a_glob_scores_only_its_files(archive, ray_head):
    rerun = run([*archive.command, "--address", ray_head], cwd=archive.root, env=PINNED_THREADS)
    assert "0 texts scored, 0 errors, 0 shard(s) (4 already done)" in rerun.stderr, rerun.stderr
    glob_command = [*SCORE, str(archive.root / "in" / "*.csv.gz"), "--out", str(archive.root / "glob")]
    glob = run([*glob_command, *archive.command[6:], "--address", ray_head], cwd=archive.root, env=PINNED_THREADS)
    assert "100 texts scored" in glob.stderr and len(list((archive.root / "glob").glob("*.parquet"))) == 1


@pytest.mark.slow
def test_bad_rows_go_to_the_errors_file_and_an_unreadable_input_stops_with_one_line(trained_model, tmp_path, ray_head):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "mixed.jsonl").write_bytes(b'{"text": "zorgon dang"}\n{oops\n{"text": ""}\n{"text": "sunny day"}\n')

    def score(out: str, check: bool = True):
        command = [*SCORE, str(folder), "--out", str(tmp_path / out), "--quiet", "--address", ray_head]
        return run([*command, "--backend", "torch", "--model", str(trained_model.model_dir)], cwd=tmp_path, check=check)

    result = score("out")
    assert "2 texts scored, 2 errors" in result.stderr
    errors = [json.loads(line) for line in next((tmp_path / "out").glob("*.errors.jsonl")).read_text().splitlines()]
    assert [(e["row"], e["reason"]) for e in errors] == [(1, "line 2 is not valid JSON"), (2, "empty text")]
    assert errors[0]["source"] == str(folder / "mixed.jsonl")
    assert pd.read_parquet(next((tmp_path / "out").glob("mixed*.parquet")))["row"].tolist() == [0, 3]

    (folder / "broken.csv").write_text("tweet\nsomething\n")
    failed = score("out2", check=False)
    lines = failed.stderr.strip().splitlines()
    assert failed.returncode == 2 and lines[-1].startswith("error: score: ") and "no column 'text'" in lines[-1]
    assert "Traceback" not in failed.stderr


@pytest.mark.slow
def test_a_killed_job_resumes_with_the_missing_shards_and_ends_equal_to_an_uninterrupted_one(
    archive, tmp_path, ray_head
):
    out, inputs = tmp_path / "out", tmp_path / "in"
    inputs.mkdir()
    for name in SHARDS_TO_KILL:  # two of the archive's shards: the kill lands after the first, before the second
        shutil.copy2(archive.root / "in" / name, inputs / name)
    # One round per shard, so that the kill lands between shards written.
    command = [*SCORE, str(inputs), "--out", str(out), *archive.command[6:], "--round-rows", "1"]
    command += ["--address", ray_head]
    job = subprocess.Popen(
        command,
        cwd=tmp_path,
        env={**tool_env(), **PINNED_THREADS},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    try:
        while not [p for p in out.glob("*.parquet") if not p.name.startswith("_")]:
            assert job.poll() is None, "the job ended before it could be killed"
            assert time.monotonic() < deadline, "no shard was written within 300 s"
            time.sleep(0.05)
    finally:
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()
    done_before = {p.name for p in out.glob("*.parquet")}
    assert len(done_before) == 1
    resumed = run(command, cwd=tmp_path, env=PINNED_THREADS)
    assert "(1 already done)" in resumed.stderr, resumed.stderr
    assert not list(out.glob("*.tmp"))
    resumed_scores, uninterrupted = (
        _by_file_name(read_scores(str(out))),
        _by_file_name(read_scores(str(archive.root / "out"))),
    )
    expected = uninterrupted[uninterrupted["shard"].isin(resumed_scores["shard"])].reset_index(drop=True)
    assert set(resumed_scores["shard"]) == {name.split(".")[0] for name in SHARDS_TO_KILL}
    pd.testing.assert_frame_equal(resumed_scores, expected)


def _by_file_name(scores: pd.DataFrame) -> pd.DataFrame:
    """Scores with each shard named by its input's file name alone (a shard's output name also digests its folder)."""
    named = scores.assign(shard=scores["shard"].str.split(".").str[0])
    return named.sort_values(["shard", "row"], kind="stable").reset_index(drop=True)


# --- s3:// through the live S3 server ------------------------------------------------------------------------------


@pytest.mark.e2e
def test_s3_input_and_output_through_the_dvc_remotes_settings(archive, tmp_path, tiny_model, ray_head):
    from hatespeech.workflow.s3_server import S3Server, s3_client

    with S3Server(tmp_path / "s3", free_port()) as server:
        project = make_project(tmp_path / "repo", "unused", str(tiny_model))
        init_repo(project)
        run_dvc_lines(project, server.remote_commands("team"))
        client = s3_client(server.endpoint, server.credentials)
        for file in (archive.root / "in").rglob("*.*"):
            key = f"archive/{file.relative_to(archive.root / 'in')}"
            client.put_object(Bucket=server.bucket, Key=key, Body=file.read_bytes())
        command = [
            *SCORE,
            f"s3://{server.bucket}/archive/",
            "--out",
            f"s3://{server.bucket}/scored/",
            "--backend",
            "torch",
            "--model",
            str(archive.model),
            "--id-column",
            "id",
            "--quiet",
            "--address",
            ray_head,
        ]
        result = run(command, cwd=project, env=PINNED_THREADS)
        assert "400 texts scored, 0 errors, 4 shard(s)" in result.stderr, result.stderr
        listed = client.list_objects_v2(Bucket=server.bucket, Prefix="scored/")["Contents"]
        names = sorted(item["Key"] for item in listed)
        assert len([n for n in names if n.endswith(".parquet")]) == 4 and "scored/_summary.json" in names
        local = tmp_path / "downloaded"
        local.mkdir()
        for name in names:
            body = client.get_object(Bucket=server.bucket, Key=name)["Body"].read()
            (local / name.split("/")[-1]).write_bytes(body)
        scored, expected = _in_input_order(local), _in_input_order(archive.root / "out")
        pd.testing.assert_frame_equal(scored, expected)


@pytest.mark.slow
def test_the_scoring_benchmark_compares_ray_with_one_process(trained_model, tmp_path, ray_head):
    from bench.scoring import main

    # On the shared Ray: starting a local one is the archive job's to check.
    report = main(
        ["--model", str(trained_model.model_dir), "--backend", "torch", "--rows", "400", "--quick"]
        + ["--out", str(tmp_path / "scoring.json"), "--address", ray_head]
    )
    predict, ray_run = report["runs"]
    assert ray_run["run"].startswith(f"hatespeech-score, Ray at {ray_head}")
    assert report["texts"] == 400 and predict["run"].startswith("hatespeech-predict")
    assert ray_run["labels_equal_predict"] is True and ray_run["texts_per_s"] > 0
    assert ray_run["vs_predict"] == pytest.approx(ray_run["texts_per_s"] / predict["texts_per_s"], rel=1e-2)
    assert report["targets"][0]["met"] in ("met", "MISSED")  # 400 texts measure start-up, not the goal
    assert json.loads((tmp_path / "scoring.json").read_text())["runs"] == report["runs"]
