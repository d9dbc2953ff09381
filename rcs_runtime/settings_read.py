"""Readers of the settings' read contract (the settings_read views, migrations 0090 and
on): one consistent snapshot, with the revision it is of."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg


@asynccontextmanager
async def snapshot(dsn: str) -> AsyncIterator[tuple[psycopg.AsyncConnection, int]]:
    """A read-only REPEATABLE READ transaction and the settings revision it sees."""
    async with (
        await psycopg.AsyncConnection.connect(dsn, connect_timeout=5) as conn,
        conn.transaction(),
    ):
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        cur = await conn.execute("SELECT revision FROM settings_read.revision")
        row = await cur.fetchone()
        yield conn, int(row[0]) if row else 0
