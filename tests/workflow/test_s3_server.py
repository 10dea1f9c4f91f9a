"""`make s3-server`'s library: credentials kept out of sight, the printed remote lines, a server that answers only
to its keys, and a clear error when it cannot start (the team workflow through it: test_s3_remote.py)."""

from __future__ import annotations

import os
import socket

import pytest
from helpers import free_port

from hatespeech import PipelineError
from hatespeech.workflow.s3_server import (
    PROFILE,
    Credentials,
    S3Server,
    load_or_create_credentials,
    remote_commands,
    s3_client,
)


def test_credentials_are_generated_once_in_a_private_file_and_never_shown(tmp_path):
    path = tmp_path / "server" / "credentials"
    first = load_or_create_credentials(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert f"[{PROFILE}]" in path.read_text() and first.secret_access_key in path.read_text()
    assert load_or_create_credentials(path) == first  # a restarted server keeps the configured remote working
    assert first.secret_access_key not in repr(first) and first.secret_access_key not in str(first)
    assert len(first.secret_access_key) >= 30


def test_remote_lines_commit_the_bucket_and_reference_the_keys(tmp_path):
    lines = remote_commands("http://127.0.0.1:9000", tmp_path / "credentials", tmp_path / "config")
    assert lines[:2] == [
        "dvc remote add -d team s3://hatespeech/dvc",
        "dvc remote modify team endpointurl http://127.0.0.1:9000",
    ]
    assert all("--local" in line for line in lines[2:]) and f"profile {PROFILE}" in lines[-1]
    assert lines[3] == f"dvc remote modify --local team configpath {tmp_path / 'config'}"
    private = remote_commands(
        "http://127.0.0.1:1", tmp_path / "c", tmp_path / "f", name="mine", local=True, default=False
    )
    assert private[0] == "dvc remote add --local mine s3://hatespeech/dvc"
    assert all("--local" in line for line in private)


def test_the_server_answers_its_own_keys_only_and_listens_on_loopback(tmp_path):
    from botocore.exceptions import ClientError

    with S3Server(tmp_path / "s3", free_port()) as server:
        assert server.endpoint.startswith("http://127.0.0.1:")
        client = s3_client(server.endpoint, server.credentials)
        client.put_object(Bucket=server.bucket, Key="dvc/hello", Body=b"hello")
        assert client.get_object(Bucket=server.bucket, Key="dvc/hello")["Body"].read() == b"hello"
        assert (server.directory / "data" / server.bucket / "dvc" / "hello").read_bytes() == b"hello"
        stranger = s3_client(server.endpoint, Credentials("HSNOTAKEY", "not-the-secret"))
        with pytest.raises(ClientError, match="403|AccessDenied|SignatureDoesNotMatch|InvalidAccessKeyId"):
            stranger.get_object(Bucket=server.bucket, Key="dvc/hello")
        secret = server.credentials.secret_access_key
    assert server.process is not None and server.process.poll() is not None  # stopped on leaving the block
    assert secret not in server.log_file.read_text()


def test_a_port_in_use_is_one_clear_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(PipelineError, match=r"port \d+ on 127.0.0.1 is in use \(.+\): choose another"):
            S3Server(tmp_path / "s3", taken.getsockname()[1]).start()


@pytest.mark.e2e
def test_a_file_dvc_pushes_in_parts_pulls_back_identical(tmp_path):
    """Over 50 MB DVC uploads in parts; rclone then sends a checksum of the parts' checksums, which botocore's
    default download check rejects: the AWS config the server writes turns that check off (as for the models)."""
    from helpers import dvc, git, run, run_dvc_lines

    project = tmp_path / "a"
    project.mkdir()
    git(project, "init", "-q")
    dvc(project, "init", "-q")
    (project / "big.bin").write_bytes(os.urandom(60 * 2**20))
    dvc(project, "add", "big.bin")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "a big file")
    with S3Server(tmp_path / "s3", free_port()) as server:
        for clone in (project, tmp_path / "b"):
            if clone != project:
                run(["git", "clone", "-q", str(project), str(clone)], cwd=tmp_path)
            run_dvc_lines(clone, server.remote_commands(local=True))
            dvc(clone, "push" if clone == project else "pull")
    assert (tmp_path / "b/big.bin").read_bytes() == (project / "big.bin").read_bytes()
