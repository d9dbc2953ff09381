"""Idempotency of gRPC mutations: a repeated request_id gets the first response.

``once`` is the one way core's servicers use it. It takes a transaction-scoped advisory
lock on the request_id first, so two concurrent calls with the same id run one after the
other and the second replays.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import psycopg
from google.protobuf.message import Message
from psycopg_pool import AsyncConnectionPool

from rcs_core.db import locks

R = TypeVar("R", bound=Message)


async def once(
    pool: AsyncConnectionPool,
    request_id: str,
    method: str,
    response_type: type[R],
    work: Callable[[psycopg.AsyncConnection], Awaitable[R]],
) -> R:
    """In one transaction: the response an earlier call with ``request_id`` got (for
    ``method``, the key it is stored under), else ``work``'s, remembered for a repeat.
    Without a request_id, just ``work``'s."""
    async with pool.connection() as conn, conn.transaction():
        if request_id:
            first = await replay(conn, request_id, method)
            if first is not None:
                return response_type.FromString(first)
        response = await work(conn)
        if request_id:
            await remember(conn, request_id, method, response.SerializeToString())
        return response


async def replay(conn: psycopg.AsyncConnection, request_id: str, method: str) -> bytes | None:
    """The stored response of an earlier call, or None; call inside the transaction."""
    await locks.lock(conn, locks.LockSpace.REQUEST_IDS, request_id)
    cur = await conn.execute(
        "SELECT response FROM request_log WHERE request_id = %s AND method = %s",
        (request_id, method),
    )
    row = await cur.fetchone()
    return bytes(row[0]) if row else None


async def remember(
    conn: psycopg.AsyncConnection, request_id: str, method: str, response: bytes
) -> None:
    await conn.execute(
        "INSERT INTO request_log (request_id, method, response) VALUES (%s, %s, %s)"
        " ON CONFLICT DO NOTHING",
        (request_id, method, response),
    )
