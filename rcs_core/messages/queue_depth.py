"""Push-back on the installation's queue: past RCS_MAX_QUEUE_DEPTH messages waiting for
dispatch, submits are refused QUEUE_FULL (HTTP 503 with Retry-After, SMPP 0x14) instead of
the queue growing without bound while the operators cannot take more.

The depth is counted at most once per ``refresh_seconds`` and never beyond the limit (a
count of a million rows on every submit would cost more than the submit).
"""

from __future__ import annotations

import asyncio
import time

from prometheus_client import Gauge
from psycopg_pool import AsyncConnectionPool

from rcs_runtime.errors import RcsError, Reason

# Maintenance exports rcs_queue_depth by state; this is what the last check counted.
COUNTED = Gauge(
    "rcs_queue_depth_checked", "Messages in the dispatch queue at the last push-back check"
)


class QueueDepth:
    def __init__(
        self, pool: AsyncConnectionPool, limit: int, *, refresh_seconds: float = 1.0
    ) -> None:
        self._pool = pool
        self._limit = limit  # 0: no limit
        self._refresh = refresh_seconds
        self._depth = 0
        self._counted_at = float("-inf")
        self._lock = asyncio.Lock()

    async def check(self) -> None:
        """QUEUE_FULL while the queue holds the limit or more."""
        if self._limit <= 0:
            return
        if time.monotonic() - self._counted_at >= self._refresh:
            async with self._lock:  # one count at a time; the others use its result
                if time.monotonic() - self._counted_at >= self._refresh:
                    await self._count()
        if self._depth >= self._limit:
            raise RcsError(
                Reason.QUEUE_FULL,
                f"{self._depth} or more messages are waiting for dispatch"
                f" (RCS_MAX_QUEUE_DEPTH {self._limit}); retry in a while",
            )

    async def _count(self) -> None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT count(*) FROM (SELECT 1 FROM dispatch_queue LIMIT %s) q", (self._limit,)
            )
            row = await cur.fetchone()
        self._depth = int(row[0]) if row else 0
        self._counted_at = time.monotonic()
        COUNTED.set(self._depth)
