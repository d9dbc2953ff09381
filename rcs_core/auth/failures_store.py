"""Failed authentications (``auth_failures``, migrations 0026-0027): one row per failure
per key (an address; a login, an administrator or API keys at an address), counted over a
sliding window by every core process alike.

An attempt is *reserved* before its (slow) password check: in one transaction the keys
are locked, their failures counted and, when the guard lets the attempt through, one row
per key inserted. Concurrent attempts therefore see each other, and a burst of guesses
gets no more checks than the limit allows. The rows of an attempt that did not fail are
deleted again (``release``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import psycopg


@dataclass(frozen=True, slots=True)
class KeyState:
    """A key's failures within the window: how many and how long ago the last one was."""

    failures: int
    seconds_since_last: float


# Given every key's state, how long the attempt must still wait (0: it may go on).
Decide = Callable[[dict[str, KeyState]], float]


async def reserve(
    conn: psycopg.AsyncConnection,
    keys: Sequence[str],
    window: dt.timedelta,
    decide: Decide,
) -> tuple[list[int], float]:
    """Count ``keys``' failures within ``window`` under their locks and ask ``decide``:
    when it says wait, return ``([], seconds)``; otherwise record the attempt as one
    failure per key and return the rows' ids (and 0)."""
    ordered = sorted(set(keys))
    async with conn.transaction():
        # Sorted, so that two attempts sharing keys never wait for each other in a cycle.
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(k, 14)) FROM unnest(%s::text[]) AS k",
            (ordered,),
        )
        cur = await conn.execute(
            "SELECT key, count(*),"
            " extract(epoch FROM clock_timestamp() - max(failed_at))::float8"
            " FROM auth_failures WHERE key = ANY(%s)"
            " AND failed_at > clock_timestamp() - %s GROUP BY key",
            (ordered, window),
        )
        states = {key: KeyState(count, since) for key, count, since in await cur.fetchall()}
        wait = decide({key: states.get(key, KeyState(0, float("inf"))) for key in ordered})
        if wait > 0:
            return [], wait
        cur = await conn.execute(
            "INSERT INTO auth_failures (key, failed_at)"
            " SELECT k, clock_timestamp() FROM unnest(%s::text[]) AS k RETURNING id",
            (ordered,),
        )
        return [row[0] for row in await cur.fetchall()], 0.0


async def release(
    conn: psycopg.AsyncConnection, ids: Sequence[int], *, forget_keys: Sequence[str] = ()
) -> None:
    """Delete an attempt's rows (it did not fail), and every failure of ``forget_keys``
    (a good login clears its own pair's history)."""
    await conn.execute(
        "DELETE FROM auth_failures WHERE id = ANY(%s) OR key = ANY(%s)",
        (list(ids), list(forget_keys)),
    )


async def release_keys_of(
    conn: psycopg.AsyncConnection, ids: Sequence[int], keys: Sequence[str]
) -> None:
    """Delete those of an attempt's rows that belong to ``keys`` (failures that must not
    count against them, e.g. an allowlist refusal against the login)."""
    await conn.execute(
        "DELETE FROM auth_failures WHERE id = ANY(%s) AND key = ANY(%s)", (list(ids), list(keys))
    )


async def record(conn: psycopg.AsyncConnection, keys: Sequence[str]) -> None:
    """One failure for each of ``keys`` (tests and tools; the guard reserves instead)."""
    await conn.execute("INSERT INTO auth_failures (key) SELECT unnest(%s::text[])", (list(keys),))


async def forget_older_than(conn: psycopg.AsyncConnection, window: dt.timedelta) -> int:
    """Delete failures the window no longer counts; returns how many."""
    cur = await conn.execute("DELETE FROM auth_failures WHERE failed_at <= now() - %s", (window,))
    return cur.rowcount
