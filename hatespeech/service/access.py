"""Who may call the service, and how often: API keys kept as hashes, and a per-client rate limit.

Keys are random tokens given to callers; the service keeps only their SHA-256 hashes (a keys file or an
environment variable), so neither the repository, the server's files nor its logs ever hold a usable key.
A request presents its key as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; its hash is compared
with every stored hash in constant time. Make a key (printed once, its hash appended to the file)::

    python -m hatespeech.service.access new-key --file keys.txt --name moderation-team

Keys file lines: ``sha256:<64 hex digits> [name] [policy=<policy>]``; blank lines and ``#`` comments are
skipped. The name (never the key) is what the access log and the rate limiter use to tell callers apart; the
policy, if given, is that caller's default moderation policy (a request's own ``"policy"`` still wins)::

    python -m hatespeech.service.access new-key --file keys.txt --name trust-and-safety --policy strict
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import math
import os
import re
import secrets
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

from hatespeech import PipelineError
from hatespeech.cli import fail

KEY_PREFIX = "hs_"  # makes a leaked key recognizable to secret scanners
_HASH_LINE = re.compile(r"sha256:([0-9a-f]{64})(?:\s+([^\s=]+))?(?:\s+policy=(\S+))?")
_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


def key_hash(key: str) -> str:
    """``sha256:<hex>`` of ``key``: what the keys file holds (keys are 256 random bits: no slow hash needed)."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def hash_lines(lines: Iterable[str], source: str) -> list[tuple[bytes, str, str | None]]:
    """(sha256 digest, caller name, default policy or None) of each hash line; blank lines and ``#`` comments
    skipped, anything else an error naming its line."""
    hashes = []
    for number, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _HASH_LINE.fullmatch(line)
        if match is None:
            raise PipelineError(
                f"{source}: line {number} is not 'sha256:<64 hex digits> [name] [policy=<policy>]' (the file holds "
                "key hashes, never keys: make one with python -m hatespeech.service.access new-key)"
            )
        hashes.append((bytes.fromhex(match[1]), match[2] or f"key-{number}", match[3]))
    return hashes


@dataclass(frozen=True)
class KeyRing:
    """The hashes of the accepted keys, each with a caller name."""

    hashes: tuple[tuple[bytes, str, str | None], ...]  # (sha256 digest, name, default policy)

    @classmethod
    def parse(cls, lines: Iterable[str], source: str) -> KeyRing:
        hashes = hash_lines(lines, source)
        if not hashes:
            raise PipelineError(f"{source} holds no key hashes: every request would be refused")
        return cls(tuple(hashes))

    @classmethod
    def load(cls, keys_file: str | None, key_hashes: str | None) -> KeyRing | None:
        """The keys of ``keys_file`` and/or ``key_hashes`` (comma-separated lines); None if neither is set."""
        lines: list[str] = []
        sources = []
        if keys_file:
            try:
                lines += Path(keys_file).read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise PipelineError(f"cannot read the API keys file {keys_file}: {exc.strerror}") from None
            sources.append(keys_file)
        if key_hashes:
            lines += key_hashes.split(",")
            sources.append("HATESPEECH_API_KEY_HASHES")
        return cls.parse(lines, " and ".join(sources)) if sources else None

    @property
    def policies(self) -> dict[str, str]:
        """Each caller name's default policy, for the keys that name one."""
        return {name: policy for _, name, policy in self.hashes if policy}

    def identify(self, key: str) -> str | None:
        """The caller name of ``key``, or None; every stored hash is compared, in constant time."""
        digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()
        found = None
        for stored, name, _ in self.hashes:
            if hmac.compare_digest(digest, stored):
                found = name
        return found


def presented_key(headers: Mapping[str, str], query: bytes = b"") -> str | None:
    """The key a request presents: ``Authorization: Bearer <key>``, else ``X-API-Key``, else the query's ``key``
    (as Perspective's clients send it; the access log records the path only, never the query); None if none."""
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if headers.get("x-api-key"):
        return headers["x-api-key"]
    keys = parse_qs(query.decode("latin-1")).get("key")
    return keys[0] if keys and keys[0] else None


class RateLimiter:
    """A token bucket per caller: ``rate`` requests per second on average, bursts of up to ``burst``."""

    def __init__(self, rate: float, burst: int, max_callers: int = 100_000) -> None:
        self.rate, self.burst, self.max_callers = rate, burst, max_callers
        self._buckets: dict[str, tuple[float, float]] = {}  # caller -> (tokens, time of last update)
        self._lock = threading.Lock()

    def acquire(self, caller: str, now: float | None = None) -> float:
        """0 if ``caller`` may go ahead (one token taken); else the seconds until a token is there."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, updated = self._buckets.get(caller, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - updated) * self.rate)
            if tokens >= 1:
                self._buckets[caller] = (tokens - 1, now)
                return 0.0
            self._buckets[caller] = (tokens, now)
            if len(self._buckets) > self.max_callers:
                self._forget_full_buckets(now)
            return (1 - tokens) / self.rate

    def _forget_full_buckets(self, now: float) -> None:
        """Drop callers whose bucket has refilled: they are as new ones (bounds memory under many addresses)."""
        refill = self.burst / self.rate
        self._buckets = {c: b for c, b in self._buckets.items() if now - b[1] < refill}


def retry_after(seconds: float) -> str:
    """A Retry-After header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))


def new_key(keys_file: str, name: str, policy: str | None = None) -> str:
    """A fresh key; its hash is appended to ``keys_file`` (created private: mode 600), with ``policy`` as the
    caller's default moderation policy if given. The key is not stored."""
    for what, value in (("key name", name), ("policy", policy)):
        if value is not None and not _NAME.fullmatch(value):
            raise PipelineError(f"{what} {value!r}: use 1-64 letters, digits, '.', '_' or '-'")
    path = Path(keys_file)
    if path.exists():
        hash_lines(path.read_text(encoding="utf-8").splitlines(), keys_file)  # append only to a valid file
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        handle.write(f"{key_hash(key)} {name}{f' policy={policy}' if policy else ''}\n")
    return key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("new-key", help="make a key: print it once, append its hash to the keys file")
    make.add_argument("--file", required=True, help="the keys file the service reads (HATESPEECH_API_KEYS_FILE)")
    make.add_argument("--name", required=True, help="the caller's name, shown in the access log instead of the key")
    make.add_argument("--policy", help="the caller's default moderation policy (the service checks it exists)")
    args = parser.parse_args(argv)
    try:
        key = new_key(args.file, args.name, args.policy)
    except (PipelineError, OSError) as exc:
        return fail("access", str(exc))
    print(key)
    print(f"the key above is shown only now; its hash is in {args.file} as '{args.name}'", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
