"""PostgreSQL pools (psycopg 3). One pool per DSN; opened explicitly, closed on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from psycopg import AsyncConnection, OperationalError
from psycopg_pool import AsyncConnectionPool

log = logging.getLogger(__name__)


async def open_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> AsyncConnectionPool:
    # reconnect_timeout: psycopg_pool retries a lost connection with a backoff that doubles
    # without bound for this long; after a 20 s PostgreSQL restart it would wait another
    # ~30 s before trying again. Giving up after 10 s lets the next request start a fresh
    # attempt at once, so the pool is back within a second or two of the database.
    pool: AsyncConnectionPool = AsyncConnectionPool(
        dsn, min_size=min_size, max_size=max_size, open=False, timeout=30, reconnect_timeout=10
    )
    await pool.open(wait=True, timeout=30)
    return pool


@contextlib.asynccontextmanager
async def autocommit_connection(pool: AsyncConnectionPool) -> AsyncIterator[AsyncConnection]:
    """A pool connection in autocommit (each statement its own transaction), handed back
    as the pool lent it. The switch is client-side: no round trip either way."""
    async with pool.connection() as conn:
        await conn.set_autocommit(True)
        try:
            yield conn
        finally:
            await conn.set_autocommit(False)


async def connect(dsn: str, *, autocommit: bool = False, wait: float = 0.0) -> AsyncConnection:
    """A connection; for up to ``wait`` seconds a refused one is retried (a process started
    while PostgreSQL restarts or fails over waits for it, as its pool does, instead of
    exiting). After that the last error is raised: the DSN or the server is wrong."""
    deadline = time.monotonic() + wait
    delay = 0.2
    while True:
        try:
            return await AsyncConnection.connect(dsn, autocommit=autocommit)
        except OperationalError as err:
            if time.monotonic() + delay > deadline:
                raise
            log.warning("database_unreachable_retrying", extra={"error": str(err).strip()})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
