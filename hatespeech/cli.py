"""What every entry point shares: logging, timing, and turning input errors into one line and exit status 2."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import NoReturn

from hatespeech import PipelineError

log = logging.getLogger("hatespeech")

EXIT_BAD_INPUT = 2


def fail(name: str, message: str) -> int:
    """Print ``error: NAME: MESSAGE`` as one line on stderr (whatever the message quotes); return exit status 2."""
    line = " ".join(part.strip() for part in message.splitlines() if part.strip())
    print(f"error: {name}: {line}", file=sys.stderr, flush=True)
    return EXIT_BAD_INPUT


def run_cli(name: str, main: Callable[[], object]) -> NoReturn:
    """Run an entry point's ``main`` and exit: with its status when it returns an int, else 0; with one
    line and status 2 on a :class:`PipelineError` (bad input or configuration: no traceback)."""
    try:
        status = main()
    except PipelineError as exc:
        sys.exit(fail(name, str(exc)))
    sys.exit(status if isinstance(status, int) else 0)


def run_stage(name: str, main: Callable[[], None], *, log_duration: bool = True) -> NoReturn:
    """Run a stage script's ``main`` with logging on, log how long it took (to the millisecond: the
    benchmark reads it), and exit as :func:`run_cli` does."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    def timed() -> None:
        started = time.perf_counter()
        main()
        if log_duration:
            log.info("stage %s finished in %.3f s", name, time.perf_counter() - started)

    run_cli(name, timed)
