"""Push-back at the gateway: at most RCS_MAX_IN_FLIGHT partner requests (sends of every
API) are worked on at once; one more is answered THROTTLED (429 with Retry-After, in each
API's own form) at once instead of queueing behind the others, so that the latency of what
is admitted stays flat and the gateway's memory bounded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from prometheus_client import Counter, Gauge

from rcs_runtime.errors import RcsError, Reason

RETRY_AFTER_SECONDS = 1
IN_FLIGHT = Gauge("rcs_rest_in_flight", "Partner requests the REST gateway is working on")
REFUSED = Counter("rcs_rest_pushed_back_total", "Partner requests refused: too many in flight")


class PushedBackError(RcsError):
    """THROTTLED by the gateway itself: its in-flight slots are taken."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            Reason.THROTTLED,
            f"the gateway is working on {limit} requests; retry in {RETRY_AFTER_SECONDS} s",
        )


class InFlight:
    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._count = 0

    @contextlib.contextmanager
    def admit(self) -> Iterator[None]:
        """Counts the request while it runs; THROTTLED when the limit is reached."""
        if self._count >= self._limit:
            REFUSED.inc()
            raise PushedBackError(self._limit)
        self._count += 1
        IN_FLIGHT.inc()
        try:
            yield
        finally:
            self._count -= 1
            IN_FLIGHT.dec()


def retry_after(http_status: int) -> dict[str, str]:
    """The Retry-After header for a refusal worth retrying soon (429, 503), else none."""
    return {"Retry-After": str(RETRY_AFTER_SECONDS)} if http_status in (429, 503) else {}
