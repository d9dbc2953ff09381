"""Final statuses: set once, each with its status event and the reports partners asked for."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import psycopg

from rcs_core.db.by_partition import created_bounds
from rcs_core.delivery import cascade_store
from rcs_core.messages.statuses import Status
from rcs_core.reports import store as reports

# A cascade whose running link this status is for is due at once (rcs_core.delivery).
CASCADE_POKE_CTE = (
    " c AS (UPDATE cascades c SET due_at = now() FROM u"
    " WHERE u.cascade_id IS NOT NULL AND c.id = u.cascade_id AND c.current_id = u.id"
    " AND c.final_status IS NULL RETURNING 1)"
)
# One statement: the status, and the reports its partners asked for (reports.store).
# With each message's created_at (the partition key) PostgreSQL looks in the one partition
# the message is in (db.by_partition); by id alone it probes every day of retention.
_FINALIZE = (
    "WITH u AS (UPDATE messages m SET status = t.st, error_code = t.err, status_at = now()"  # noqa: S608 (constant SQL)
    " FROM unnest(%b::bigint[], %b::smallint[], %b::int[], %b::timestamptz[])"
    "  AS t(id, st, err, created)"
    " WHERE m.id = t.id AND {created}"
    " AND (m.status IN (1, 2) OR (t.st = 7 AND m.status = 3)) RETURNING m.*),"
    + reports.STATUS_REPORTS_CTE
    + ","
    + CASCADE_POKE_CTE
    + " SELECT u.id, u.partner_id, (SELECT count(*) FROM r), (SELECT count(*) FROM c) FROM u"
)
_BY_PARTITION = _FINALIZE.format(
    created="m.created_at = t.created AND m.created_at BETWEEN %b AND %b"
)
_BY_ID = _FINALIZE.format(created="t.created IS NULL")


async def finalize(
    conn: psycopg.AsyncConnection,
    items: list[tuple[int, Status, int, str]],
    *,
    created_at: Mapping[int, dt.datetime] | None = None,
) -> list[int]:
    """Give messages their final status unless they already have one; returns those changed.

    items: (message_id, status, error_code, detail). A final status is never overwritten,
    except DELIVERED by READ (push and messengers: the subscriber opened it after).
    ``created_at``: message id → its created_at, known for every item or not used.
    """
    if not items:
        return []
    ids = [i[0] for i in items]
    args: tuple[object, ...] = (ids, [int(i[1]) for i in items], [i[2] for i in items])
    if created_at is not None and all(i in created_at for i in ids):
        created = [created_at[i] for i in ids]
        cur = await conn.execute(
            _BY_PARTITION, (*args, created, *created_bounds(created)), prepare=False
        )
    else:
        cur = await conn.execute(_BY_ID, (*args, [None] * len(ids)))
    found = await cur.fetchall()
    partner_of = {row[0]: row[1] for row in found}
    if found and found[0][2]:
        await reports.wake(conn)
    if found and found[0][3]:
        await cascade_store.wake(conn)
    rows = [i for i in items if i[0] in partner_of]
    if rows:
        await conn.execute(
            "INSERT INTO status_events (message_id, partner_id, status, error_code, detail)"
            " SELECT * FROM unnest(%b::bigint[], %b::bigint[], %b::smallint[], %b::int[],"
            " %b::text[])",
            (
                [r[0] for r in rows],
                [partner_of[r[0]] for r in rows],
                [int(r[1]) for r in rows],
                [r[2] for r in rows],
                [r[3] for r in rows],
            ),
        )
        failed = [r[0] for r in rows if r[1] == Status.UNDELIVERED]
        if failed:
            await mark_inactive(conn, failed)
    return sorted(partner_of)


async def mark_inactive(conn: psycopg.AsyncConnection, message_ids: list[int]) -> None:
    """Mark the numbers of these failed messages inactive when, within the policy window,
    they failed with an "absent / unknown subscriber" code at least ``threshold`` times."""
    await conn.execute(
        "INSERT INTO inactive_numbers (number, error_code, failures, expires_at)"
        " SELECT m.destination, (array_agg(m.error_code ORDER BY m.status_at DESC))[1],"
        "  count(*), now() + p.inactive_ttl"
        " FROM verification_policy p"
        " JOIN messages m ON m.status = %s AND m.error_code = ANY(p.inactive_codes)"
        "  AND m.created_at > now() - p.inactive_window"
        " WHERE m.destination IN (SELECT destination FROM messages WHERE id = ANY(%s))"
        " GROUP BY m.destination, p.inactive_ttl, p.inactive_threshold"
        " HAVING count(*) >= p.inactive_threshold"
        " ON CONFLICT (number) DO UPDATE SET error_code = EXCLUDED.error_code,"
        "  failures = EXCLUDED.failures, marked_at = now(), expires_at = EXCLUDED.expires_at",
        (int(Status.UNDELIVERED), message_ids),
    )
