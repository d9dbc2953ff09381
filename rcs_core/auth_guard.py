"""Failed-authentication limiting (F18): refuse, for a while, an address or a login that
keeps failing, so that passwords and API keys cannot be guessed at gateway speed.

Counts are kept per core process in memory (AuthService runs in core, which every gateway
asks): a restart forgets them, which only gives a guesser one more window.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from prometheus_client import Counter

from rcs_runtime.errors import RcsError

REFUSALS = Counter("rcs_auth_refusals_total", "Refused authentications", ["reason"])
_MAX_KEYS = 100_000  # tracked addresses + logins; the oldest are forgotten beyond it


class FailedAuthGuard:
    def __init__(
        self,
        *,
        max_failures: int = 10,
        window_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max = max_failures
        self._window = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> int:
        times = self._failures.get(key)
        if times is None:
            return 0
        while times and times[0] <= now - self._window:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0
        return len(times)

    def check(self, login: str, remote_ip: str) -> None:
        """Raise THROTTLED while the address or the login has too many recent failures —
        even for the right credentials, or guessing would only be slowed, not stopped."""
        now = self._clock()
        for key in (f"ip:{remote_ip}", f"login:{login}" if login else ""):
            if key and self._recent(key, now) >= self._max:
                REFUSALS.labels("THROTTLED").inc()
                raise RcsError(
                    "THROTTLED",
                    f"too many failed logins from {remote_ip or 'this address'} or for this"
                    f" login; retry in {int(self._window)} s",
                )

    def failed(self, login: str, remote_ip: str, reason: str) -> None:
        REFUSALS.labels(reason).inc()
        now = self._clock()
        for key in (f"ip:{remote_ip}", f"login:{login}" if login else ""):
            if not key:
                continue
            if key not in self._failures and len(self._failures) >= _MAX_KEYS:
                del self._failures[next(iter(self._failures))]
            self._failures.setdefault(key, deque()).append(now)
