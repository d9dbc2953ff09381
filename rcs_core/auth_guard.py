"""Failed-authentication limiting (F18): refuse, for a while, an address or a login that
keeps failing, so that passwords and API keys cannot be guessed at gateway speed.

The failures are rows in PostgreSQL (``storage/auth_failures.py``), so every core process
counts the same ones and a restart forgets none; maintenance deletes those older than the
window.
"""

from __future__ import annotations

import datetime as dt

from prometheus_client import Counter
from psycopg_pool import AsyncConnectionPool

from rcs_core.storage import auth_failures
from rcs_runtime.errors import RcsError

REFUSALS = Counter("rcs_auth_refusals_total", "Refused authentications", ["reason"])


# No partner's login is longer (settings_servicer._LOGIN); a longer one is counted by its
# first characters, so that any size of login keeps to what the key index can hold.
MAX_LOGIN_CHARS = 64


def _keys(login: str, remote_ip: str) -> list[str]:
    return [f"ip:{remote_ip[:64]}", *([f"login:{login[:MAX_LOGIN_CHARS]}"] if login else [])]


class FailedAuthGuard:
    def __init__(
        self, pool: AsyncConnectionPool, *, max_failures: int = 10, window_seconds: float = 300.0
    ) -> None:
        self._pool = pool
        self._max = max_failures
        self.window = dt.timedelta(seconds=window_seconds)

    async def check(self, login: str, remote_ip: str) -> None:
        """Raise THROTTLED while the address or the login has too many recent failures —
        even for the right credentials, or guessing would only be slowed, not stopped."""
        async with self._pool.connection() as conn:
            over = await auth_failures.any_over(
                conn, _keys(login, remote_ip), self.window, self._max
            )
        if over:
            REFUSALS.labels("THROTTLED").inc()
            raise RcsError(
                "THROTTLED",
                f"too many failed logins from {remote_ip or 'this address'} or for this"
                f" login; retry in {int(self.window.total_seconds())} s",
            )

    async def failed(self, login: str, remote_ip: str, reason: str) -> None:
        REFUSALS.labels(reason).inc()
        async with self._pool.connection() as conn:
            await auth_failures.record(conn, _keys(login, remote_ip))
