"""What every stage script shares: logging, timing, and turning input errors into a clean exit."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

from hatespeech import PipelineError

log = logging.getLogger("hatespeech")

EXIT_BAD_INPUT = 2


def run_stage(name: str, main: Callable[[], None], *, log_duration: bool = True) -> None:
    """Run ``main``; on a :class:`PipelineError` print one clear line and exit with status 2."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    try:
        main()
    except PipelineError as exc:
        # One line whatever the message quotes (a parser's trailing newline, a value with a line break).
        message = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        print(f"error: {name}: {message}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    if log_duration:
        log.info("stage %s finished in %.1f s", name, time.perf_counter() - started)
