"""Failed authentications (``auth_failures``, migration 0026): one row per failure per key
(an address, a login), counted over a sliding window by every core process alike."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import psycopg


async def any_over(
    conn: psycopg.AsyncConnection, keys: Sequence[str], window: dt.timedelta, limit: int
) -> bool:
    """Whether one of ``keys`` has at least ``limit`` failures within ``window``."""
    cur = await conn.execute(
        "SELECT 1 FROM auth_failures WHERE key = ANY(%s) AND failed_at > now() - %s"
        " GROUP BY key HAVING count(*) >= %s LIMIT 1",
        (list(keys), window, limit),
    )
    return await cur.fetchone() is not None


async def record(conn: psycopg.AsyncConnection, keys: Sequence[str]) -> None:
    """One failure for each of ``keys``."""
    await conn.execute("INSERT INTO auth_failures (key) SELECT unnest(%s::text[])", (list(keys),))


async def forget_older_than(conn: psycopg.AsyncConnection, window: dt.timedelta) -> int:
    """Delete failures the window no longer counts; returns how many."""
    cur = await conn.execute("DELETE FROM auth_failures WHERE failed_at <= now() - %s", (window,))
    return cur.rowcount
