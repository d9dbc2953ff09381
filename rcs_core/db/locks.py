"""Transaction-scoped advisory locks, one namespace (the hash seed) per use, so that keys
of different uses never share a lock."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

import psycopg


class LockSpace(IntEnum):
    RECEIPT_KEYS = 0  # delivery/receipts_store.py: an operator id, receipt against submit_sm_resp
    REQUEST_IDS = 1  # db/request_log.py: a repeated call waits for the first
    MESSAGE_CONTENT = 2  # messages/store.py: duplicate blocking per number and text
    INBOUND_PARTS = 3  # inbound/store.py: the parts of one MO
    SUBMIT_PARTS = 4  # concatenated.py: the parts of one MT an ESME split
    INBOUND_SESSIONS = 5  # inbound/sessions_store.py: one subscriber's session on a number
    SMPP_SESSIONS = 6  # auth/smpp_sessions_store.py: the SMPP sessions of one login
    CLIENT_REFS = 7  # messages/store.py: a partner's message id still being stored


def key_of(*parts: object) -> str:
    """One lock key of several parts, as ``lock`` and ``lock_all`` hash it."""
    return "\x1f".join(map(str, parts))


async def lock(conn: psycopg.AsyncConnection, space: LockSpace, *key: object) -> None:
    """Hold the lock on ``key`` (its parts joined) until the transaction ends."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(%s, %s))",
        (key_of(*key), int(space)),
    )


async def lock_all(conn: psycopg.AsyncConnection, space: LockSpace, keys: Iterable[str]) -> None:
    """Hold the locks on ``keys`` (``key_of`` makes one of several parts) until the
    transaction ends; in one statement, in sorted order, so that two callers cannot
    deadlock. (A volatile function in the select list is evaluated after ORDER BY.)"""
    ordered = sorted(set(keys))
    if ordered:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(k, %s))"
            " FROM unnest(%s::text[]) WITH ORDINALITY AS t(k, n) ORDER BY n",
            (int(space), ordered),
        )


async def try_lock_all(
    conn: psycopg.AsyncConnection, space: LockSpace, keys: Iterable[str]
) -> set[str]:
    """Take the locks on ``keys`` that are free, until the transaction ends, without
    waiting; returns the keys another transaction holds."""
    ordered = sorted(set(keys))
    if not ordered:
        return set()
    cur = await conn.execute(
        "SELECT k FROM unnest(%s::text[]) AS t(k)"
        " WHERE NOT pg_try_advisory_xact_lock(hashtextextended(k, %s))",
        (ordered, int(space)),
    )
    return {row[0] for row in await cur.fetchall()}
