"""Cascades' rows (migration 0056): started with their first message, claimed when due,
moved to the next link or finished. The decisions are rcs_core.delivery.cascade's.

Locks, always in this order and never waited for beyond the cascade row: the cascade row
(claimed SKIP LOCKED), then its running message's row and queue row, both SKIP LOCKED. A
receipt or the dispatcher holding either makes the engine look again a moment later
instead of waiting, so it never deadlocks with them (they lock message → cascade row when
finalize pokes the cascade).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import psycopg

from rcs_core.storage.by_partition import created_bounds

CASCADE_CHANNEL = "rcs_cascade"


async def start(
    conn: psycopg.AsyncConnection,
    message_id: int,
    partner_id: int,
    links: list[bytes],
    wait_for: int | None,
    ttl: dt.timedelta,
) -> None:
    """The cascade of a first message being accepted in this transaction (same now())."""
    await conn.execute(
        "INSERT INTO cascades (id, partner_id, links, current_id, current_created, wait_for,"
        " deadline, due_at) VALUES (%s, %s, %s, %s, now(), %s, now() + %s, now() + %s)",
        (message_id, partner_id, links, message_id, wait_for, ttl, ttl),
    )


@dataclass(frozen=True, slots=True)
class DueCascade:
    id: int
    partner_id: int
    links: list[bytes]
    link_no: int
    current_id: int
    current_created: dt.datetime
    wait_for: int | None
    deadline: dt.datetime


@dataclass(frozen=True, slots=True)
class RunningLink:
    """The running link's message: its status, and what the next link inherits."""

    status: int
    error_code: int
    client_ref: str | None
    destination: str
    priority: int
    receipt_request: int
    trace_parent: str
    traffic_type: int | None
    mailing: str
    ptag: str | None
    report_format: int
    report_url: str | None
    window: tuple[Any, Any, Any, Any]
    default_sender: str
    default_ttl_seconds: int
    queued: bool  # still in the dispatch queue (not sent yet)


async def claim(conn: psycopg.AsyncConnection, limit: int) -> list[DueCascade]:
    cur = await conn.execute(
        "SELECT id, partner_id, links, link_no, current_id, current_created, wait_for, deadline"
        " FROM cascades WHERE final_status IS NULL AND due_at <= now()"
        " ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED",
        (limit,),
    )
    return [DueCascade(*row) for row in await cur.fetchall()]


async def lock_running(
    conn: psycopg.AsyncConnection, due: list[DueCascade]
) -> dict[int, RunningLink]:
    """The running messages of ``due`` that are free now, locked; a message (or its queue
    row) another transaction holds is left out, to be looked at again shortly."""
    if not due:
        return {}
    ids = [c.current_id for c in due]
    created = [c.current_created for c in due]
    cur = await conn.execute(
        "SELECT m.id, m.status, m.error_code, m.client_ref, m.destination, m.priority,"
        " m.receipt_request, m.trace_parent, m.traffic_type, m.mailing, m.ptag,"
        " m.report_format, m.report_url, m.window_begin, m.window_end, m.window_days,"
        " m.window_offset, p.default_sender, p.default_ttl_seconds"
        " FROM messages m"
        " JOIN unnest(%b::bigint[], %b::timestamptz[]) AS t(id, created)"
        "  ON m.id = t.id AND m.created_at = t.created"
        " JOIN partners p ON p.id = m.partner_id"
        " WHERE m.created_at BETWEEN %b AND %b FOR UPDATE OF m SKIP LOCKED",
        (ids, created, *created_bounds(created)),
        prepare=False,
    )
    rows = {row[0]: row for row in await cur.fetchall()}
    cur = await conn.execute(
        "SELECT message_id FROM dispatch_queue WHERE message_id = ANY(%s)", (list(rows),)
    )
    queued = {row[0] for row in await cur.fetchall()}
    cur = await conn.execute(
        "SELECT message_id FROM dispatch_queue WHERE message_id = ANY(%s) FOR UPDATE SKIP LOCKED",
        (list(queued),),
    )
    in_flight = queued - {row[0] for row in await cur.fetchall()}  # a dispatcher holds it
    return {
        mid: RunningLink(
            int(r[1]),
            int(r[2]),
            r[3],
            str(r[4]),
            int(r[5]),
            int(r[6]),
            str(r[7]),
            r[8],
            str(r[9]),
            r[10],
            int(r[11]),
            r[12],
            (r[13], r[14], r[15], r[16]),
            str(r[17]),
            int(r[18]),
            mid in queued,
        )
        for mid, r in rows.items()
        if mid not in in_flight
    }


async def drop_from_queue(conn: psycopg.AsyncConnection, message_id: int) -> None:
    await conn.execute("DELETE FROM dispatch_queue WHERE message_id = %s", (message_id,))


async def look_again(
    conn: psycopg.AsyncConnection, cascade_id: int, at: dt.datetime | None
) -> None:
    """The cascade is due at ``at`` (None: only when its running link's status changes)."""
    await conn.execute(
        "UPDATE cascades SET due_at = coalesce(%s, 'infinity'::timestamptz) WHERE id = %s",
        (at, cascade_id),
    )


async def look_soon(conn: psycopg.AsyncConnection, cascade_id: int, seconds: float) -> None:
    await conn.execute(
        "UPDATE cascades SET due_at = now() + make_interval(secs => %s) WHERE id = %s",
        (seconds, cascade_id),
    )


async def finish(
    conn: psycopg.AsyncConnection, cascade_id: int, status: int, error_code: int
) -> None:
    """The cascade's one final outcome (the row is locked and its final_status NULL)."""
    await conn.execute(
        "UPDATE cascades SET final_status = %s, final_error = %s, finished_at = now(),"
        " due_at = 'infinity' WHERE id = %s AND final_status IS NULL",
        (status, error_code, cascade_id),
    )


async def advance(
    conn: psycopg.AsyncConnection,
    cascade_id: int,
    message_id: int,
    wait_for: int | None,
    ttl: dt.timedelta,
) -> None:
    """The next link, accepted in this transaction as ``message_id``, is now running."""
    await conn.execute(
        "UPDATE cascades SET link_no = link_no + 1, current_id = %s, current_created = now(),"
        " wait_for = %s, deadline = now() + %s, due_at = now() + %s WHERE id = %s",
        (message_id, wait_for, ttl, ttl, cascade_id),
    )


async def outcome(
    conn: psycopg.AsyncConnection, cascade_id: int
) -> tuple[int | None, int | None, int, int] | None:
    """(final status, final error, running link number, running message id), or None."""
    cur = await conn.execute(
        "SELECT final_status, final_error, link_no, current_id FROM cascades WHERE id = %s",
        (cascade_id,),
    )
    row = await cur.fetchone()
    return None if row is None else (row[0], row[1], int(row[2]), int(row[3]))


async def wake(conn: psycopg.AsyncConnection) -> None:
    await conn.execute("SELECT pg_notify(%s, '')", (CASCADE_CHANNEL,))
