"""SMPP sessions bound over every SMPP gateway process (SMPP_API.txt 1.3: the number of
sessions of one login is limited, ``partners.max_smpp_sessions``, 0 = no limit).

A gateway claims a row at bind for a lease, renews the leases of its sessions while they
last and deletes them at unbind or disconnect; a gateway that dies frees its slots when
their leases end. Every bind mode counts as one session. Claims and renewals of a login
take turns under an advisory lock on the login, and compare ``expires_at`` with the time
of a statement run after the lock: the order of the locks is the order of the counts, so
two gateways cannot both take the last slot, and a renewal never revives a lease that a
claim has already counted as ended.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from rcs_core.db import locks
from rcs_runtime.errors import RcsError, Reason


@dataclass(frozen=True, slots=True)
class Claim:
    granted: bool
    bound: int  # the login's live sessions: with this one when granted, without when not
    limit: int  # max_smpp_sessions; 0: no limit


async def claim(
    conn: psycopg.AsyncConnection,
    *,
    login: str,
    session_id: str,
    gateway_id: str,
    mode: str,
    lease: dt.timedelta,
) -> Claim | None:
    """Count the session against the login's limit and hold its slot for ``lease``; None
    for an unknown login. Inside a transaction. A session id that still holds its slot (a
    repeated claim) keeps it whatever the count, as a changed limit closes no session."""
    await locks.lock(conn, locks.LockSpace.SMPP_SESSIONS, login)
    cur = await conn.execute("SELECT max_smpp_sessions FROM partners WHERE login = %s", (login,))
    row = await cur.fetchone()
    if row is None:
        return None
    limit = int(row[0])
    cur = await conn.execute(
        "SELECT count(*) FILTER (WHERE session_id <> %s), count(*) FILTER (WHERE session_id = %s)"
        " FROM smpp_sessions WHERE login = %s AND expires_at > statement_timestamp()",
        (session_id, session_id, login),
    )
    counts = await cur.fetchone()
    assert counts is not None
    others, held = int(counts[0]), bool(counts[1])
    if limit and not held and others >= limit:
        return Claim(granted=False, bound=others, limit=limit)
    cur = await conn.execute(
        "INSERT INTO smpp_sessions (session_id, login, gateway_id, mode, bound_at, expires_at)"
        " VALUES (%s, %s, %s, %s, statement_timestamp(), statement_timestamp() + %s)"
        " ON CONFLICT (session_id) DO UPDATE SET expires_at = EXCLUDED.expires_at"
        " WHERE smpp_sessions.login = EXCLUDED.login"
        " AND smpp_sessions.gateway_id = EXCLUDED.gateway_id"
        " RETURNING session_id",
        (session_id, login, gateway_id, mode, lease),
    )
    if await cur.fetchone() is None:
        raise RcsError(
            Reason.INVALID_REQUEST,
            "session_id is another login's or another gateway's",
            field="session_id",
        )
    return Claim(granted=True, bound=others + 1, limit=limit)


async def renew(
    conn: psycopg.AsyncConnection, gateway_id: str, session_ids: Sequence[str], lease: dt.timedelta
) -> list[str]:
    """Extend by ``lease`` (from now) the live sessions among ``session_ids`` that
    ``gateway_id`` holds; return the others, in the order given. Inside a transaction."""
    ids = list(dict.fromkeys(session_ids))
    cur = await conn.execute(
        "SELECT DISTINCT login FROM smpp_sessions WHERE session_id = ANY(%s) AND gateway_id = %s",
        (ids, gateway_id),
    )
    await locks.lock_all(
        conn, locks.LockSpace.SMPP_SESSIONS, [login for (login,) in await cur.fetchall()]
    )
    cur = await conn.execute(
        "UPDATE smpp_sessions SET expires_at = statement_timestamp() + %s"
        " WHERE session_id = ANY(%s) AND gateway_id = %s AND expires_at > statement_timestamp()"
        " RETURNING session_id",
        (lease, ids, gateway_id),
    )
    renewed = {sid for (sid,) in await cur.fetchall()}
    return [sid for sid in ids if sid not in renewed]


async def release(conn: psycopg.AsyncConnection, session_ids: Sequence[str]) -> int:
    """Free the slots of ``session_ids``; how many were still held."""
    cur = await conn.execute(
        "DELETE FROM smpp_sessions WHERE session_id = ANY(%s)"
        " RETURNING expires_at > statement_timestamp()",
        (list(session_ids),),
    )
    return sum(1 for (live,) in await cur.fetchall() if live)


async def delete_expired(conn: psycopg.AsyncConnection) -> int:
    """Drop the rows whose lease ended (they no longer count); how many."""
    cur = await conn.execute("DELETE FROM smpp_sessions WHERE expires_at <= now()")
    return cur.rowcount
