"""`rcs run`'s supervisor: restarts a unit (a component process, the embedded PostgreSQL)
that died, with backoff, and gives up — stopping everything — only on a crash loop.

A unit that keeps running for ``stable_seconds`` has its backoff reset, so one crash a day
costs half a second of outage, not the backoff a crash loop earned. In production each
component runs under the operator's own supervisor instead (deploy/systemd/).
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


class Unit(Protocol):
    """Something the supervisor keeps running."""

    name: str

    def start(self) -> None:
        """Start it (again); raises if it cannot be started now (tried again later)."""

    def exit_status(self) -> int | None:
        """None while it runs; else how it ended (a negative number: killed by that signal)."""

    def terminate(self) -> None:
        """Ask it to stop."""

    def wait(self, timeout: float) -> None:
        """Wait for it to stop, killing it after ``timeout``."""


@dataclass(frozen=True)
class RestartPolicy:
    backoff_initial_seconds: float = 0.5
    backoff_max_seconds: float = 30.0
    # This many restarts of one unit within ``crash_loop_seconds`` is a crash loop.
    crash_loop_restarts: int = 10
    crash_loop_seconds: float = 300.0
    stable_seconds: float = 60.0


@dataclass
class _State:
    unit: Unit
    tier: int = 1
    started_at: float = 0.0
    restart_at: float | None = None  # pending restart: when
    backoff: float = 0.0
    restarts: deque[float] = field(default_factory=deque)


class CrashLoopError(RuntimeError):
    """A unit kept dying: the installation is stopped rather than flapping forever."""


def describe_exit(status: int) -> str:
    if status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exit code {status}"


class Supervisor:
    def __init__(
        self,
        policy: RestartPolicy,
        say: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self._say = say
        self._clock = clock
        self._units: list[_State] = []

    def start(self, unit: Unit, *, tier: int = 1) -> None:
        """Start ``unit`` now (a failure here is the caller's: start-up is not supervised).
        Lower tiers are stopped last: the database (0) outlives the components (1)."""
        unit.start()
        self._units.append(_State(unit, tier=tier, started_at=self._clock()))

    def alive(self) -> dict[str, bool]:
        return {s.unit.name: s.unit.exit_status() is None for s in self._units}

    def check(self) -> None:
        """One supervision step: schedule restarts of dead units, run the due ones.

        Raises CrashLoopError when a unit died ``crash_loop_restarts`` times within the
        window; the caller stops everything."""
        now = self._clock()
        for state in self._units:
            if state.restart_at is None:
                status = state.unit.exit_status()
                if status is not None:
                    self._schedule(state, status, now)
            if state.restart_at is not None and now >= state.restart_at:
                self._restart(state, now)

    def _schedule(self, state: _State, status: int, now: float) -> None:
        if now - state.started_at >= self.policy.stable_seconds:
            state.backoff = 0.0
        self._retry_later(state, f"exited ({describe_exit(status)})", now)

    def _retry_later(self, state: _State, why: str, now: float) -> None:
        p = self.policy
        name = state.unit.name
        state.backoff = min(p.backoff_max_seconds, state.backoff * 2 or p.backoff_initial_seconds)
        while state.restarts and now - state.restarts[0] > p.crash_loop_seconds:
            state.restarts.popleft()
        if len(state.restarts) >= p.crash_loop_restarts:
            raise CrashLoopError(
                f"{name} restarted {len(state.restarts)} times within"
                f" {p.crash_loop_seconds:g} s and died again ({why}); giving up"
            )
        state.restart_at = now + state.backoff
        self._say(f"{name} {why}; restarting in {state.backoff:g} s")

    def _restart(self, state: _State, now: float) -> None:
        state.restarts.append(now)
        state.restart_at = None
        state.started_at = now
        try:
            state.unit.start()
        except Exception as err:  # any failure to start is retried the same way
            self._retry_later(state, f"failed to start ({err})", now)
            return
        self._say(f"{state.unit.name} restarted")

    def stop_all(self, timeout: float = 10) -> None:
        """SIGTERM the highest tier's units at once, wait for them (killing what outlives
        ``timeout``), then the next tier."""
        for tier in sorted({state.tier for state in self._units}, reverse=True):
            states = [state for state in self._units if state.tier == tier]
            for state in states:
                if state.unit.exit_status() is None:
                    state.unit.terminate()
            deadline = self._clock() + timeout
            for state in states:
                state.unit.wait(max(0.1, deadline - self._clock()))


class ChildProcess:
    """A component as a child process, logging to its own file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self._argv = argv
        self._env = env
        self._log = log
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> None:
        with self._log.open("ab") as log:
            self._proc = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
                self._argv,
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches only the supervisor, which stops us
            )

    def exit_status(self) -> int | None:
        return self._proc.poll() if self._proc else 0

    def terminate(self) -> None:
        if self._proc is not None:
            self._proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> None:
        if self._proc is None:
            return
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
