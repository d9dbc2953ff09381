"""Push-back at the gateway: at most RCS_MAX_IN_FLIGHT partner requests (sends of every
API) are worked on at once; one more is answered THROTTLED (429 with Retry-After, in each
API's own form) at once instead of queueing behind the others, so that the latency of what
is admitted stays flat and the gateway's memory bounded.
"""

from __future__ import annotations

import weakref
from types import TracebackType

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
    """``with in_flight.admit():`` around a partner request. (A plain context manager and a
    gauge read at scrape time: no generator and no locked gauge update per request.)"""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._count = 0
        _ALL.add(self)

    def admit(self) -> InFlight:
        """Counts the request while it runs; THROTTLED when the limit is reached."""
        if self._count >= self._limit:
            REFUSED.inc()
            raise PushedBackError(self._limit)
        self._count += 1
        return self

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._count -= 1

    @property
    def count(self) -> int:
        return self._count


_ALL: weakref.WeakSet[InFlight] = weakref.WeakSet()
IN_FLIGHT.set_function(lambda: sum(in_flight.count for in_flight in _ALL))


def retry_after(http_status: int) -> dict[str, str]:
    """The Retry-After header for a refusal worth retrying soon (429, 503), else none."""
    return {"Retry-After": str(RETRY_AFTER_SECONDS)} if http_status in (429, 503) else {}
