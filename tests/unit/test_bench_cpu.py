"""The load scripts' CPU accounting (bench/cpu.py), read from /proc."""

from __future__ import annotations

import os
import time

from bench.cpu import CpuMeter, cpu_seconds


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_a_group_is_charged_the_cpu_its_processes_used_between_start_and_stop() -> None:
    meter = CpuMeter({"me": [os.getpid()], "gone": [2**22 + 1]}, postgres=False)
    _spin(0.1)  # before start: not counted
    meter.start()
    _spin(0.3)
    meter.stop()
    assert 0.25 <= meter.seconds["me"] <= 0.6
    assert meter.seconds["gone"] == 0.0  # a pid that does not exist costs nothing
    line = meter.report(100)
    assert line.startswith("CPU per message (ms): me ")
    assert line.endswith(f"; total {sum(meter.seconds.values()) * 1000 / 100:.3f}")


def test_a_process_that_is_not_there_reads_as_no_cpu() -> None:
    assert cpu_seconds(2**22 + 1) == 0.0
    assert cpu_seconds(os.getpid()) > 0
