"""Idempotency of gRPC mutations: a repeated request_id gets the first response.

``replay`` takes a transaction-scoped advisory lock on the request_id first, so two
concurrent calls with the same id run one after the other and the second replays.
"""

from __future__ import annotations

import psycopg

from rcs_core.db import locks


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
