"""A fair share of a busy CPU: how many threads PyTorch uses, and how they wait.

PyTorch's CPU wheels run their kernels on OpenMP threads, one per core by default, that spin a while
when they wait for each other. Beside another busy process on a 2-core machine that makes every training
step many times slower: a spinning thread burns the time slice its partner needs. So the project uses as
many threads as the machine can give now: the cores in the process's affinity mask, less the cores other
processes keep busy, measured over a fraction of a second from ``/proc/stat`` (elsewhere: the load
average). ``train.threads``, ``--threads`` or ``$HATESPEECH_THREADS`` override the choice, and an explicit
``$OMP_NUM_THREADS`` is respected.

One thread has no partner to wait for, so the wait policy no longer matters where the choice gives one.
A passive policy (``OMP_WAIT_POLICY=PASSIVE``: waiting threads sleep) helps only when there are more
threads than free cores (a competitor that starts after the choice, or an override); on an idle machine
it costs training throughput, so it is left to the user: ``python -m bench.contention``
measures the settings side by side (docs/performance.md has the figures).

The thread count changes the order of floating-point sums, so the last digits of a trained model depend on
it: the reference run of ``main`` trains with every core of an idle machine (``$HATESPEECH_THREADS`` pins it).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from hatespeech import PipelineError

log = logging.getLogger(__name__)

THREADS_ENV = "HATESPEECH_THREADS"
WAIT_POLICY_ENV = "OMP_WAIT_POLICY"  # read by OpenMP once, when torch loads
SAMPLE_SECONDS = 0.2  # long enough to see a busy process, short enough not to be noticed at start-up


@dataclass(frozen=True)
class ThreadChoice:
    threads: int
    reason: str


def usable_cpus() -> list[int]:
    """The CPUs this process may run on (its affinity mask: a container's or taskset's limit)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def _cpu_times(stat: Path, cpus: list[int]) -> dict[int, tuple[int, int]] | None:
    """(busy, total) jiffies per CPU of ``cpus`` from a /proc/stat file; None where it cannot be read."""
    try:
        lines = stat.read_text().splitlines()
    except OSError:
        return None
    wanted = {f"cpu{cpu}": cpu for cpu in cpus}
    times = {}
    for line in lines:
        name, *values = line.split()
        if name in wanted:
            # user nice system idle iowait irq softirq steal (guest time is already inside user).
            ticks = [int(v) for v in values[:8]]
            idle = ticks[3] + ticks[4]
            times[wanted[name]] = (sum(ticks) - idle, sum(ticks))
    return times if len(times) == len(cpus) else None


def busy_cpus(cpus: list[int], seconds: float = SAMPLE_SECONDS, stat: Path = Path("/proc/stat")) -> float:
    """How many of ``cpus`` other processes keep busy now (this process sleeps while it measures)."""
    before = _cpu_times(stat, cpus)
    if before is None:  # not Linux: the 1-minute load average, a slower but portable estimate
        return min(float(len(cpus)), os.getloadavg()[0]) if hasattr(os, "getloadavg") else 0.0
    time.sleep(seconds)
    after = _cpu_times(stat, cpus) or before
    busy = 0.0
    for cpu in cpus:
        elapsed = after[cpu][1] - before[cpu][1]
        if elapsed > 0:
            busy += (after[cpu][0] - before[cpu][0]) / elapsed
    return busy


def choose_threads(requested: int | None = None, *, sample_seconds: float = SAMPLE_SECONDS) -> ThreadChoice:
    """The intra-op thread count: ``requested``, else $HATESPEECH_THREADS, else $OMP_NUM_THREADS, else the
    usable cores that other processes leave free (at least one)."""
    for value, source in ((requested, "requested"), (os.environ.get(THREADS_ENV), f"${THREADS_ENV}")):
        if value not in (None, ""):
            return ThreadChoice(_positive(value, source), f"{source}")
    if os.environ.get("OMP_NUM_THREADS"):
        return ThreadChoice(_positive(os.environ["OMP_NUM_THREADS"], "$OMP_NUM_THREADS"), "$OMP_NUM_THREADS")
    cpus = usable_cpus()
    taken = busy_cpus(cpus, sample_seconds)
    threads = max(1, int(len(cpus) - taken + 0.5))
    return ThreadChoice(threads, f"{len(cpus)} usable core(s), {taken:.1f} busy with other work")


def set_torch_threads(requested: int | None = None) -> ThreadChoice:
    """Choose the thread count (see :func:`choose_threads`), give it to PyTorch, and log why."""
    import torch

    choice = choose_threads(requested)
    torch.set_num_threads(choice.threads)
    log.info(
        "%d CPU thread(s) (%s; OpenMP wait %s)",
        choice.threads,
        choice.reason,
        os.environ.get(WAIT_POLICY_ENV, "default").lower(),
    )
    return choice


def _positive(value: object, source: str) -> int:
    try:
        threads = int(str(value))
    except ValueError:
        raise PipelineError(f"{source} must be a whole number of threads, got {value!r}") from None
    if threads < 1:
        raise PipelineError(f"{source} must be at least 1, got {threads}")
    return threads
