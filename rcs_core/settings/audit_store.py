"""Reading the audit log (``audit_log``, day-partitioned, append-only; written by
``settings_store.audit``), newest first, filtered by actor, target text and time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    created_at: dt.datetime
    actor: str
    remote_ip: str
    action: str
    target: str
    revision: int | None
    details: dict[str, object]


async def page(
    conn: psycopg.AsyncConnection,
    *,
    actor: str,
    entity: str,
    since: dt.datetime | None,
    until: dt.datetime | None,
    before_id: int | None,
    limit: int,
) -> list[AuditRow]:
    """Up to ``limit`` entries with ids below ``before_id`` (None: from the newest)."""
    # The time bounds also prune the day partitions scanned.
    like = "%" + entity.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    cur = await conn.execute(
        "SELECT id, created_at, actor, remote_ip, action, target, revision, details"
        " FROM audit_log"
        " WHERE (%(actor)s = '' OR actor = %(actor)s)"
        " AND (%(entity)s = '' OR target LIKE %(like)s)"
        " AND created_at >= coalesce(%(since)s, '-infinity'::timestamptz)"
        " AND created_at < coalesce(%(until)s, 'infinity'::timestamptz)"
        " AND (%(before)s::bigint IS NULL OR id < %(before)s)"
        " ORDER BY id DESC LIMIT %(limit)s",
        {
            "actor": actor,
            "entity": entity,
            "like": like,
            "since": since,
            "until": until,
            "before": before_id,
            "limit": limit,
        },
    )
    return [AuditRow(*row) for row in await cur.fetchall()]
