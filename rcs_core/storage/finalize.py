"""Final statuses: set once, each with its status event."""

from __future__ import annotations

import psycopg

from rcs_core.statuses import Status


async def finalize(
    conn: psycopg.AsyncConnection, items: list[tuple[int, Status, int, str]]
) -> list[int]:
    """Give messages their final status unless they already have one; returns those changed.

    items: (message_id, status, error_code, detail). A final status is never overwritten.
    """
    if not items:
        return []
    cur = await conn.execute(
        "UPDATE messages m SET status = t.st, error_code = t.err, status_at = now()"
        " FROM unnest(%s::bigint[], %s::smallint[], %s::int[]) AS t(id, st, err)"
        " WHERE m.id = t.id AND m.status IN (1, 2) RETURNING m.id, m.partner_id",
        ([i[0] for i in items], [int(i[1]) for i in items], [i[2] for i in items]),
    )
    partner_of = {row[0]: row[1] for row in await cur.fetchall()}
    rows = [i for i in items if i[0] in partner_of]
    if rows:
        await conn.execute(
            "INSERT INTO status_events (message_id, partner_id, status, error_code, detail)"
            " SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::smallint[], %s::int[],"
            " %s::text[])",
            (
                [r[0] for r in rows],
                [partner_of[r[0]] for r in rows],
                [int(r[1]) for r in rows],
                [r[2] for r in rows],
                [r[3] for r in rows],
            ),
        )
    return sorted(partner_of)
