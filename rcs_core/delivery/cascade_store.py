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

from rcs_core.db.by_partition import created_bounds

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


async def drop_from_queue(conn: psycopg.AsyncConnection, message_ids: list[int]) -> None:
    await conn.execute("DELETE FROM dispatch_queue WHERE message_id = ANY(%s)", (message_ids,))


async def record(
    conn: psycopg.AsyncConnection,
    waits: list[tuple[int, dt.datetime | None]],
    finishes: list[tuple[int, int, int]],
    started: list[tuple[int, int, int | None, dt.timedelta]],
) -> None:
    """A batch's decisions (the rows are locked by this transaction):
    waits (cascade, due or None: only when the running link's status changes);
    finishes (cascade, final status, error): the one final outcome;
    started (cascade, the next link's message accepted in this transaction, the status it
    must reach or None for the last link, its validity): that link is now running."""
    if waits:
        await conn.execute(
            "UPDATE cascades c SET due_at = coalesce(t.due, 'infinity'::timestamptz)"
            " FROM unnest(%s::bigint[], %s::timestamptz[]) AS t(id, due) WHERE c.id = t.id",
            ([w[0] for w in waits], [w[1] for w in waits]),
        )
    if finishes:
        await conn.execute(
            "UPDATE cascades c SET final_status = t.st, final_error = t.err,"
            " finished_at = now(), due_at = 'infinity'"
            " FROM unnest(%s::bigint[], %s::smallint[], %s::int[]) AS t(id, st, err)"
            " WHERE c.id = t.id AND c.final_status IS NULL",
            ([f[0] for f in finishes], [f[1] for f in finishes], [f[2] for f in finishes]),
        )
    if started:
        await conn.execute(
            "UPDATE cascades c SET link_no = c.link_no + 1, current_id = t.mid,"
            " current_created = now(), wait_for = t.wf, deadline = now() + t.ttl,"
            " due_at = now() + t.ttl"
            " FROM unnest(%s::bigint[], %s::bigint[], %s::smallint[], %s::interval[])"
            "  AS t(id, mid, wf, ttl) WHERE c.id = t.id",
            (
                [s[0] for s in started],
                [s[1] for s in started],
                [s[2] for s in started],
                [s[3] for s in started],
            ),
        )


async def forget_finished(conn: psycopg.AsyncConnection, older_than: dt.timedelta) -> None:
    """Drop finished cascades as retention drops their messages."""
    await conn.execute(
        "DELETE FROM cascades WHERE final_status IS NOT NULL AND finished_at < now() - %s",
        (older_than,),
    )


async def wake(conn: psycopg.AsyncConnection) -> None:
    await conn.execute("SELECT pg_notify(%s, '')", (CASCADE_CHANNEL,))
