"""Per-interface circuit breaker: which binds failover should skip for a while.

An interface whose submits fail at the transport level ``threshold`` times in a row (see
``smpp_bind.is_transport_failure``: no response, connection lost, throttled, queue full,
system error) is opened for ``cooldown`` seconds; failover then sends its traffic to the
route's next interface instead of waiting on it. After the cooldown one submit is let
through (half-open): success closes the breaker, failure opens it for a new cooldown. A
permanent rejection counts as success — the bind works, the message was bad.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

from prometheus_client import Gauge

OPEN = Gauge(
    "rcs_connector_interface_open",
    "1 while the interface's circuit breaker is open (failover skips it) or half-open",
    ["interface"],
)


class State(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"  # the one trial submit is in flight


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
        self._threshold = max(1, threshold)
        self._cooldown = cooldown
        self._clock = clock
        self._failures = 0  # transport failures in a row
        self._opened_at = 0.0
        self.state = State.CLOSED
        OPEN.labels(interface_id).set(0)

    @property
    def is_open(self) -> bool:
        """Open or half-open: not taking traffic beyond the one trial."""
        return self.state is not State.CLOSED

    def usable(self) -> bool:
        """Whether a submit may go through now. Ask right before submitting: past the
        cooldown this hands out the single half-open trial, whose outcome must then be
        reported with ``succeeded``, ``failed`` or ``released``."""
        if self.state is State.CLOSED:
            return True
        if self.state is State.HALF_OPEN or self._clock() - self._opened_at < self._cooldown:
            return False
        self.state = State.HALF_OPEN
        return True

    def succeeded(self) -> None:
        """The SMSC took the submit, or refused the message for good: the path works."""
        self._failures = 0
        if self.state is not State.CLOSED:
            self.state = State.CLOSED
            OPEN.labels(self._id).set(0)

    def failed(self) -> None:
        """A transport-level failure."""
        self._failures += 1
        if self.state is State.OPEN:
            return  # a submit from before the opening: the cooldown stands
        if self.state is State.HALF_OPEN or self._failures >= self._threshold:
            self.state = State.OPEN
            self._opened_at = self._clock()
            OPEN.labels(self._id).set(1)

    def released(self) -> None:
        """A submit ended saying nothing about the path (cancelled, or a "retry" about the
        message): a trial it held goes back, so the next message becomes the trial."""
        if self.state is State.HALF_OPEN:
            self.state = State.OPEN
