"""How many CPU threads the pipeline takes: overrides, and the cores other processes leave free."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from hatespeech import PipelineError
from hatespeech.threads import THREADS_ENV, _cpu_times, busy_cpus, choose_threads, usable_cpus

STAT = """cpu  200 0 100 1000 10 0 0 5 0 0
cpu0 100 0 50 500 5 0 0 3 0 0
cpu1 100 0 50 500 5 0 0 2 0 0
intr 12345
"""


@pytest.fixture(autouse=True)
def no_thread_settings(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(THREADS_ENV, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)


def test_proc_stat_is_read_per_cpu_with_iowait_idle_and_steal_busy(tmp_path: Path):
    stat = tmp_path / "stat"
    stat.write_text(STAT)
    # busy = user + nice + system + irq + softirq + steal; total adds idle and iowait.
    assert _cpu_times(stat, [0, 1]) == {0: (153, 658), 1: (152, 657)}
    assert _cpu_times(stat, [0, 2]) is None  # a CPU the file does not list: no estimate rather than a wrong one
    assert _cpu_times(tmp_path / "absent", [0]) is None


def test_an_override_wins_in_order_requested_env_omp(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert choose_threads().threads == 3
    monkeypatch.setenv(THREADS_ENV, "2")
    assert choose_threads() == choose_threads(None)
    assert choose_threads().threads == 2 and choose_threads().reason == f"${THREADS_ENV}"
    assert choose_threads(5).threads == 5


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_bad_override_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, value: str):
    monkeypatch.setenv(THREADS_ENV, value)
    with pytest.raises(PipelineError, match=f"\\${THREADS_ENV} must be"):
        choose_threads()


@pytest.mark.skipif(len(usable_cpus()) < 2 or not Path("/proc/stat").exists(), reason="needs 2 cores and /proc/stat")
def test_a_busy_process_takes_a_core_from_the_choice():
    competitor = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)  # running at full speed
        assert busy_cpus(usable_cpus(), seconds=0.5) >= 0.7
        choice = choose_threads(sample_seconds=0.5)
        assert 1 <= choice.threads <= len(usable_cpus()) - 1
        assert "busy with other work" in choice.reason
    finally:
        competitor.kill()
        competitor.wait()
