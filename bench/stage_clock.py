"""Run a stage script as `python SCRIPT ARGS...` would, and report its stage time precisely.

    python bench/stage_clock.py stages/tokenize_splits.py --splits ... --out-dir ... --stats ...

The stage time is what hatespeech.cli.run_stage measures and logs (the stage's main(), after interpreter
start-up and the script's imports), printed on stderr as ``bench-stage-seconds N`` to the microsecond: the
log line rounds to 0.1 s, which reads 0.0 for the small stages.
"""

from __future__ import annotations

import runpy
import sys
import time

import hatespeech.cli

MARKER = "bench-stage-seconds"


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: stage_clock.py SCRIPT [ARGS...]")
    run_stage = hatespeech.cli.run_stage

    def timed(name: str, stage_main):  # the script imports run_stage from hatespeech.cli when it runs, so gets this
        started = time.perf_counter()
        try:
            run_stage(name, stage_main)
        finally:
            print(f"{MARKER} {time.perf_counter() - started:.6f}", file=sys.stderr, flush=True)

    hatespeech.cli.run_stage = timed
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
