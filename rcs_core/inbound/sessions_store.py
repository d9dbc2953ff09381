"""SMS sessions on MO numbers (http_mo.rst, "Сессии для SMS-сообщений"): the route a
subscriber's messages to a number go to while their session lasts, one session per
subscriber and number.

Sessions are opened, extended and closed in the transaction that records the MO, under a
lock on (number, subscriber), so a subscriber's messages recorded at once take turns;
maintenance ends expired ones with their row locked, so a session is either extended by a
message or ended by maintenance, never both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from rcs_core.db import locks

Key = tuple[str, str]  # (number, subscriber), both without a leading '+'


@dataclass(frozen=True, slots=True)
class Ended:
    """A session that expired: whom to tell, and the MO its text answers."""

    number: str
    subscriber: str
    route: str
    last_message_id: int


async def lock_live(conn: psycopg.AsyncConnection, keys: Sequence[Key]) -> dict[Key, str]:
    """Hold ``keys`` until the transaction ends (in one order, so that two batches cannot
    deadlock) and return the route of each live session among them."""
    ordered = sorted(set(keys))
    await locks.lock_all(
        conn, locks.LockSpace.INBOUND_SESSIONS, (locks.key_of(*key) for key in ordered)
    )
    cur = await conn.execute(
        "SELECT number, subscriber, route FROM inbound_sessions"
        " WHERE (number, subscriber) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
        " AND expires_at > now() FOR UPDATE",
        ([k[0] for k in ordered], [k[1] for k in ordered]),
    )
    return {(number, subscriber): route for number, subscriber, route in await cur.fetchall()}


async def open_session(
    conn: psycopg.AsyncConnection, key: Key, route: str, seconds: int, message_id: int
) -> None:
    """Open a session on ``route``, replacing the subscriber's expired or ignored one."""
    await conn.execute(
        "INSERT INTO inbound_sessions (number, subscriber, route, opened_at, expires_at,"
        " last_message_id) VALUES (%s, %s, %s, now(), now() + make_interval(secs => %s), %s)"
        " ON CONFLICT (number, subscriber) DO UPDATE SET route = EXCLUDED.route,"
        " opened_at = EXCLUDED.opened_at, expires_at = EXCLUDED.expires_at,"
        " last_message_id = EXCLUDED.last_message_id",
        (*key, route, seconds, message_id),
    )


async def extend(conn: psycopg.AsyncConnection, key: Key, seconds: int, message_id: int) -> None:
    """The subscriber wrote in the session: it lasts ``seconds`` from now."""
    await conn.execute(
        "UPDATE inbound_sessions SET expires_at = now() + make_interval(secs => %s),"
        " last_message_id = %s WHERE number = %s AND subscriber = %s",
        (seconds, message_id, *key),
    )


async def close(conn: psycopg.AsyncConnection, key: Key) -> None:
    await conn.execute("DELETE FROM inbound_sessions WHERE number = %s AND subscriber = %s", key)


async def end_expired(conn: psycopg.AsyncConnection, limit: int) -> list[Ended]:
    """Remove up to ``limit`` expired sessions, in the caller's transaction. Sessions a
    message is extending right now are skipped (they will not have expired after it)."""
    cur = await conn.execute(
        "DELETE FROM inbound_sessions WHERE (number, subscriber) IN"
        " (SELECT number, subscriber FROM inbound_sessions WHERE expires_at <= now()"
        " ORDER BY expires_at LIMIT %s FOR UPDATE SKIP LOCKED)"
        " AND expires_at <= now()"
        " RETURNING number, subscriber, route, last_message_id",
        (limit,),
    )
    return [Ended(*row) for row in await cur.fetchall()]


async def end_expired_of(conn: psycopg.AsyncConnection, keys: Sequence[Key]) -> list[Ended]:
    """Remove the expired sessions among ``keys`` (locked by ``lock_live``), in the
    caller's transaction: a subscriber who writes again after the session expired, before
    maintenance ended it, is told it ended before the new message is handled. A row
    maintenance is ending meanwhile is left to maintenance (it has it locked)."""
    ordered = sorted(set(keys))
    cur = await conn.execute(
        "DELETE FROM inbound_sessions"
        " WHERE (number, subscriber) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
        " AND expires_at <= now()"
        " RETURNING number, subscriber, route, last_message_id",
        ([k[0] for k in ordered], [k[1] for k in ordered]),
    )
    return [Ended(*row) for row in await cur.fetchall()]
