"""Partners by login, cached briefly: every submit and every report lease needs one, and
partners rarely change. Shared by core's partner-facing servicers (MessageService,
ReportLeaseService)."""

from __future__ import annotations

import time

from psycopg_pool import AsyncConnectionPool

from rcs_core.auth import partners_store as partners
from rcs_runtime.errors import RcsError, Reason

MAX_CACHED = 10_000


class PartnerCache:
    def __init__(self, pool: AsyncConnectionPool, seconds: float = 5) -> None:
        self._pool = pool
        self._seconds = seconds
        self._partners: dict[str, tuple[partners.Partner, float]] = {}

    async def get(self, login: str) -> partners.Partner:
        """The partner with this login; INVALID_LOGIN when there is none."""
        now = time.monotonic()
        hit = self._partners.get(login)
        if hit is not None and hit[1] > now:
            return hit[0]
        async with self._pool.connection() as conn:
            partner = await partners.by_login(conn, login)
        if partner is None:
            raise RcsError(Reason.INVALID_LOGIN, f"no partner with login {login!r}")
        if len(self._partners) > MAX_CACHED:
            self._partners.clear()
        self._partners[login] = (partner, now + self._seconds)
        return partner
