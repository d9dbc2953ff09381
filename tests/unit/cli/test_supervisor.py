"""`rcs run`'s supervisor with real child processes: a dead one is restarted with growing
backoff, a steady one is left alone, a crash loop gives up loudly, stop_all stops them all."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from rcs_cli.supervisor import ChildProcess, CrashLoopError, RestartPolicy, Supervisor


def _child(tmp_path: Path, name: str, code: str) -> ChildProcess:
    argv = [sys.executable, "-c", code]
    return ChildProcess(name, argv, dict(os.environ), tmp_path / f"{name}.log")


def _until(predicate: object, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def test_a_killed_child_is_restarted_after_a_backoff_and_logged(tmp_path: Path) -> None:
    said: list[str] = []
    sup = Supervisor(RestartPolicy(backoff_initial_seconds=0.2), said.append)
    marker = tmp_path / "starts"
    # Each start appends a line, then the process lives until stopped.
    steady = _child(tmp_path, "steady", "import time\ntime.sleep(60)")
    victim = _child(
        tmp_path,
        "victim",
        f"open({str(marker)!r}, 'a').write('x\\n')\nimport time\ntime.sleep(60)",
    )
    sup.start(steady)
    sup.start(victim)
    try:
        _until(lambda: marker.exists(), 30)
        first_pid, steady_pid = victim.pid, steady.pid
        assert first_pid is not None
        os.kill(first_pid, 9)

        def restarted() -> bool:
            sup.check()
            return len(marker.read_text().split()) == 2

        _until(restarted, 30)
        assert victim.pid != first_pid
        assert steady.pid == steady_pid
        assert said[0] == "victim exited (killed by SIGKILL); restarting in 0.2 s"
        assert said[1] == "victim restarted"
        assert sup.alive() == {"steady": True, "victim": True}
    finally:
        sup.stop_all(timeout=5)
    assert sup.alive() == {"steady": False, "victim": False}


def test_backoff_doubles_and_a_crash_loop_gives_up(tmp_path: Path) -> None:
    said: list[str] = []
    policy = RestartPolicy(
        backoff_initial_seconds=0.05,
        backoff_max_seconds=0.2,
        crash_loop_restarts=4,
        crash_loop_seconds=60,
    )
    sup = Supervisor(policy, said.append)
    sup.start(_child(tmp_path, "flaky", "raise SystemExit(3)"))

    def supervise() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            sup.check()
            time.sleep(0.02)

    with pytest.raises(CrashLoopError, match="flaky restarted 4 times within 60 s") as err:
        supervise()
    assert "exit code 3" in str(err.value)
    delays = [line.rsplit(" ", 2)[1] for line in said if "restarting in" in line]
    assert delays == ["0.05", "0.1", "0.2", "0.2"]
    sup.stop_all(timeout=5)


def test_a_child_that_ran_steadily_starts_again_from_the_first_backoff(tmp_path: Path) -> None:
    said: list[str] = []
    now = [0.0]
    policy = RestartPolicy(backoff_initial_seconds=0.5, stable_seconds=60)
    sup = Supervisor(policy, said.append, clock=lambda: now[0])
    unit = _child(tmp_path, "once", "raise SystemExit(1)")
    sup.start(unit)
    _until(lambda: unit.exit_status() is not None, 30)
    for backoff in (0.5, 1.0, 2.0):  # dies at once three times
        sup.check()  # seen dead: restart scheduled after the backoff
        now[0] += backoff
        sup.check()  # restarted
        _until(lambda: unit.exit_status() is not None, 30)
    now[0] += 100.0  # the last start was long ago: a fresh crash, not part of a loop
    sup.check()
    delays = [line.rsplit(" ", 2)[1] for line in said if "restarting in" in line]
    assert delays == ["0.5", "1", "2", "0.5"]
    sup.stop_all(timeout=5)
