"""Per-interface circuit breaker: which binds failover should skip for a while.

An interface whose submits keep coming back "retry" (no response, throttled, queue full,
system error, not bound) is opened for a cooldown; failover then sends its traffic to the
route's next interface instead of waiting on it. After the cooldown one submit is let
through (half-open): success closes the breaker, failure opens it again. A permanent
rejection counts as success — the bind works, the message was bad.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import Gauge

OPEN = Gauge("rcs_connector_interface_open", "1 while failover skips the interface", ["interface"])


class Breaker:
    def __init__(
        self,
        interface_id: str,
        *,
        threshold: int,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._id = interface_id
        self._threshold = threshold
        self._cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False  # a half-open trial is in flight

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None

    def usable(self) -> bool:
        """Closed; or open, past its cooldown, with no trial in flight (takes the trial)."""
        if self._opened_at is None:
            return True
        if self._trial or self._clock() - self._opened_at < self._cooldown:
            return False
        self._trial = True
        return True

    def record(self, ok: bool) -> None:
        self._trial = False
        if ok:
            self._failures = 0
            if self._opened_at is not None:
                self._opened_at = None
                OPEN.labels(self._id).set(0)
            return
        self._failures += 1
        if self._opened_at is not None or self._failures >= self._threshold:
            self._opened_at = self._clock()  # (re)open: a failed trial waits a new cooldown
            OPEN.labels(self._id).set(1)
