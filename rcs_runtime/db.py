"""PostgreSQL pools (psycopg 3). One pool per DSN; opened explicitly, closed on shutdown."""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool


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


async def connect(dsn: str, *, autocommit: bool = False) -> AsyncConnection:
    return await AsyncConnection.connect(dsn, autocommit=autocommit)
