"""Start the HTTP service under uvicorn, ready for a network beyond this machine:

    hatespeech-serve                                   # 127.0.0.1:8000; settings from HATESPEECH_* variables
    HATESPEECH_API_KEYS_FILE=keys.txt hatespeech-serve --host 0.0.0.0 --port 8000

What it adds to ``uvicorn --factory hatespeech.service.main:create_app``: it refuses an address other than
loopback when no API keys are configured (``--allow-anonymous`` overrides, for a network that authenticates
in front of the service); the service's JSON access log replaces uvicorn's; on SIGTERM (or Ctrl-C) it stops
accepting, answers every accepted request, then exits, cancelling what is left after ``--graceful-timeout``.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys

from hatespeech import PipelineError
from hatespeech.cli import fail
from hatespeech.service.settings import Settings

APP = "hatespeech.service.main:create_app"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to any interface
        return False


def check_exposure(host: str, settings: Settings, allow_anonymous: bool) -> None:
    """A PipelineError if the service would be open to a network without keys and nobody said that is wanted."""
    if is_loopback(host) or allow_anonymous or settings.api_keys_file or settings.api_key_hashes:
        return
    raise PipelineError(
        f"--host {host} is reachable from other machines, and no API keys are configured: set "
        "HATESPEECH_API_KEYS_FILE (make keys with python -m hatespeech.service.access new-key), or pass "
        "--allow-anonymous if something in front of the service authenticates callers"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    parser.add_argument("--allow-anonymous", action="store_true", help="serve a non-loopback address without keys")
    parser.add_argument(
        "--graceful-timeout",
        type=float,
        default=30.0,
        help="seconds after SIGTERM to finish accepted requests before cancelling them (default: %(default)s)",
    )
    parser.add_argument(
        "--forwarded-allow-ips",
        help="addresses of trusted proxies whose X-Forwarded-For names the client (rate limits by address)",
    )
    parser.add_argument("--log-level", default="info", help="uvicorn's log level (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        check_exposure(args.host, Settings.load(), args.allow_anonymous)
    except PipelineError as exc:
        return fail("serve", str(exc))

    import uvicorn

    uvicorn.run(
        APP,
        factory=True,
        host=args.host,
        port=args.port,
        access_log=False,  # the service writes its own, as JSON with request ids
        log_level=args.log_level,
        timeout_graceful_shutdown=args.graceful_timeout,
        proxy_headers=args.forwarded_allow_ips is not None,
        forwarded_allow_ips=args.forwarded_allow_ips,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
