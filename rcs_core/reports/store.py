"""The report outbox: status reports (and inbound messages) owed to partners.

A report is written in the transaction that gives a message the status it reports
(``status_reports_sql`` is part of finalize's statement), so a status is never stored
without the report its partner asked for, nor a report made for a status that rolled back.
Reports are handed out under leases (SELECT … FOR UPDATE SKIP LOCKED, then a later
``next_attempt_at``), so any number of gateways and senders share the outbox, and a
report whose taker died is handed out again when its lease ends: at-least-once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

REPORTS_CHANNEL = "rcs_reports"
KIND_STATUS = 1
KIND_INBOUND = 2
FORMAT_SMPP = 1

# Appended to finalize's UPDATE … RETURNING m.* (CTE ``u``): one outbox row per changed
# message whose partner wants this status pushed and has somewhere to push it. A cascade's
# links report under the cascade's id (the mtNum / transactionId the partner was given),
# each with its own type and status.
# receipt_request: 2 every final status, 3 failures only (rcs.common.v1.ReceiptRequest).
STATUS_REPORTS_CTE = (
    " r AS (INSERT INTO report_outbox (partner_id, format, kind, url, message_id, body)"
    " SELECT u.partner_id, u.report_format, 1,"
    "  CASE WHEN u.report_format = 1 THEN '' ELSE coalesce(u.report_url, p.report_url) END,"
    "  coalesce(u.cascade_id, u.id), jsonb_build_object('client_ref', u.client_ref, 'ptag', u.ptag,"
    "  'destination', u.destination, 'sender', u.sender, 'text', u.body,"
    "  'part_count', u.part_count, 'status', u.status, 'error_code', u.error_code,"
    "  'submit_time', u.created_at, 'done_time', u.status_at,"
    "  'traffic_type', u.traffic_type, 'channel', u.channel,"
    "  'receipt_copies', u.receipt_copies)"
    " FROM u JOIN partners p ON p.id = u.partner_id"
    " WHERE u.report_format <> 0"
    "  AND (u.receipt_request = 2 OR (u.receipt_request = 3 AND u.status NOT IN (3, 7)))"
    "  AND (u.report_format = 1 OR coalesce(u.report_url, p.report_url) <> '')"
    " RETURNING 1)"
)


@dataclass(frozen=True, slots=True)
class LeasedReport:
    id: int
    partner_id: int
    format: int
    kind: int
    url: str
    message_id: int
    body: dict[str, Any]
    attempts: int


async def wake(conn: psycopg.AsyncConnection) -> None:
    """Tell waiting leasers that reports arrived (delivered when the transaction commits)."""
    await conn.execute("SELECT pg_notify(%s, '')", (REPORTS_CHANNEL,))


async def lease(
    conn: psycopg.AsyncConnection,
    *,
    formats: Sequence[int],
    partner_id: int | None,
    limit: int,
    lease_for: dt.timedelta,
    exclude_partners: Sequence[int] = (),
    room: PartnerRoom | None = None,
) -> list[LeasedReport]:
    """Up to ``limit`` due reports, oldest first, taken for ``lease_for``; none of
    ``exclude_partners`` (those that have as many in flight as they may), and with
    ``room`` no more of one partner than it has room for."""
    if room is not None:
        return await _lease_within_room(conn, formats, limit, lease_for, room)
    cur = await conn.execute(
        "WITH due AS (SELECT id FROM report_outbox"
        " WHERE format = ANY(%s) AND (%s::bigint IS NULL OR partner_id = %s)"
        "  AND next_attempt_at <= now() AND NOT (partner_id = ANY(%s::bigint[]))"
        " ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED)"
        " UPDATE report_outbox o SET next_attempt_at = now() + %s, attempts = o.attempts + 1"
        " FROM due WHERE o.id = due.id"
        " RETURNING o.id, o.partner_id, o.format, o.kind, o.url, o.message_id, o.body,"
        "  o.attempts",
        (list(formats), partner_id, partner_id, list(exclude_partners), limit, lease_for),
    )
    rows = sorted(await cur.fetchall(), key=lambda r: int(r[0]))
    return [LeasedReport(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class PartnerRoom:
    """How many more reports each partner may take: ``used`` requests in flight of
    ``per_partner`` (a partner not in ``used`` has all of them)."""

    per_partner: int
    used: Mapping[int, int]


# The oldest due HTTP reports (a window of them, read in order from the partial index
# report_outbox_http_due_idx, whose predicate the literal ``format <> 1`` matches), at most
# each partner's room of them, then locked. Taking only what may be sent spares a sender
# from leasing one busy partner's backlog only to release it again.
_LEASE_WITHIN_ROOM = (
    "WITH window_ AS (SELECT id, partner_id, next_attempt_at FROM report_outbox"
    "  WHERE format <> 1 AND format = ANY(%(formats)s) AND next_attempt_at <= now()"
    "   AND NOT (partner_id = ANY(%(full)s::bigint[]))"
    "  ORDER BY next_attempt_at, id LIMIT %(scan)s),"
    " ranked AS (SELECT id, partner_id, next_attempt_at, row_number() OVER"
    "  (PARTITION BY partner_id ORDER BY next_attempt_at, id) AS n FROM window_),"
    " fits AS (SELECT r.id FROM ranked r"
    "  LEFT JOIN unnest(%(busy)s::bigint[], %(used)s::int[]) AS b(partner_id, used)"
    "   ON b.partner_id = r.partner_id"
    "  WHERE r.n <= %(per_partner)s - coalesce(b.used, 0)"
    "  ORDER BY r.next_attempt_at, r.id LIMIT %(limit)s),"
    " due AS (SELECT o.id FROM report_outbox o JOIN fits ON fits.id = o.id"
    "  WHERE o.next_attempt_at <= now() FOR UPDATE OF o SKIP LOCKED)"
    " UPDATE report_outbox o SET next_attempt_at = now() + %(lease_for)s,"
    "  attempts = o.attempts + 1 FROM due WHERE o.id = due.id"
    " RETURNING o.id, o.partner_id, o.format, o.kind, o.url, o.message_id, o.body,"
    "  o.attempts"
)
LEASE_SCAN_FACTOR = 4  # due reports looked at per report wanted


async def _lease_within_room(
    conn: psycopg.AsyncConnection,
    formats: Sequence[int],
    limit: int,
    lease_for: dt.timedelta,
    room: PartnerRoom,
) -> list[LeasedReport]:
    if FORMAT_SMPP in formats:
        raise ValueError("a lease within room is for HTTP formats only")
    busy = list(room.used)
    cur = await conn.execute(
        _LEASE_WITHIN_ROOM,
        {
            "formats": list(formats),
            "full": [p for p in busy if room.used[p] >= room.per_partner],
            "scan": max(limit * LEASE_SCAN_FACTOR, 100),
            "busy": busy,
            "used": [room.used[p] for p in busy],
            "per_partner": room.per_partner,
            "limit": limit,
            "lease_for": lease_for,
        },
    )
    rows = sorted(await cur.fetchall(), key=lambda r: int(r[0]))
    return [LeasedReport(*row) for row in rows]


async def settle(
    conn: psycopg.AsyncConnection,
    *,
    delivered: Sequence[int] = (),
    failed: Sequence[int] = (),
    released: Sequence[int] = (),
    error: str = "",
    retry_base_seconds: float = 5.0,
    retry_max_seconds: float = 600.0,
) -> list[tuple[int, str]]:
    """End leases; returns (format, outcome) of every report that was still stored.

    failed: retried after exponential backoff with jitter (half to all of
    ``base * 2^(attempts-1)``, at most ``retry_max_seconds``); released: due at once
    and the attempt is not counted.
    """
    settled: list[tuple[int, str]] = []
    if delivered:
        cur = await conn.execute(
            "DELETE FROM report_outbox WHERE id = ANY(%s) RETURNING format", (list(delivered),)
        )
        settled += [(int(r[0]), "delivered") for r in await cur.fetchall()]
    if failed:
        cur = await conn.execute(
            "UPDATE report_outbox SET last_error = left(%s, 500), next_attempt_at = now()"
            " + make_interval(secs => least(%s, %s * power(2, least(attempts - 1, 30)))"
            "   * (0.5 + random() / 2))"
            " WHERE id = ANY(%s) RETURNING format",
            (error, retry_max_seconds, retry_base_seconds, list(failed)),
        )
        settled += [(int(r[0]), "failed") for r in await cur.fetchall()]
    if released:
        cur = await conn.execute(
            "UPDATE report_outbox SET next_attempt_at = now(),"
            " attempts = greatest(attempts - 1, 0) WHERE id = ANY(%s) RETURNING format",
            (list(released),),
        )
        settled += [(int(r[0]), "released") for r in await cur.fetchall()]
    if any(outcome == "released" for _, outcome in settled):
        await wake(conn)
    return settled


async def drop_older_than(conn: psycopg.AsyncConnection, age: dt.timedelta) -> dict[int, int]:
    """Remove reports nobody took within ``age``; returns how many per format."""
    cur = await conn.execute(
        "WITH gone AS (DELETE FROM report_outbox WHERE created_at < now() - %s"
        " RETURNING format) SELECT format, count(*) FROM gone GROUP BY format",
        (age,),
    )
    return {int(f): int(n) for f, n in await cur.fetchall()}


async def backlog(conn: psycopg.AsyncConnection) -> dict[int, tuple[int, float]]:
    """Per format: reports waiting, and the age in seconds of the oldest."""
    cur = await conn.execute(
        "SELECT format, count(*), extract(epoch FROM now() - min(created_at))"
        " FROM report_outbox GROUP BY format"
    )
    return {int(f): (int(n), float(age)) for f, n, age in await cur.fetchall()}


async def logins(conn: psycopg.AsyncConnection, partner_ids: Sequence[int]) -> dict[int, str]:
    """Partner logins by id (MO over HTTP v5 names the partner's login as serviceId)."""
    cur = await conn.execute(
        "SELECT id, login FROM partners WHERE id = ANY(%s)", (sorted(set(partner_ids)),)
    )
    return {int(i): str(login) for i, login in await cur.fetchall()}
