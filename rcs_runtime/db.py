"""PostgreSQL pools (psycopg 3). One pool per DSN; opened explicitly, closed on shutdown."""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool


async def open_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> AsyncConnectionPool:
    pool: AsyncConnectionPool = AsyncConnectionPool(
        dsn, min_size=min_size, max_size=max_size, open=False, timeout=30
    )
    await pool.open(wait=True, timeout=30)
    return pool


async def connect(dsn: str, *, autocommit: bool = False) -> AsyncConnection:
    return await AsyncConnection.connect(dsn, autocommit=autocommit)
