"""rpns_pushes and rpns_deliveries: a push's fan-out, its deliveries' states, and the
receipt outbox to core (pushes whose status core has not stored yet)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg

from rcs_rpns.model import DeliveryState, Platform

# rcs.common.v1.MessageStatus values rpns reports.
NONE, DELIVERED, UNDELIVERED, READ = 0, 3, 4, 7


async def existing(conn: psycopg.AsyncConnection, message_ids: list[str]) -> dict[str, int]:
    """Pushes already made for these core messages (a dispatcher's repeat): id by message."""
    cur = await conn.execute(
        "SELECT message_id, id FROM rpns_pushes WHERE message_id = ANY(%s)", (message_ids,)
    )
    return {str(m): int(i) for m, i in await cur.fetchall()}


@dataclass(frozen=True, slots=True)
class NewPush:
    message_id: str
    interface_id: str
    app_id: int
    content: bytes
    valid_until: dt.datetime
    install_ids: list[str]


async def create(conn: psycopg.AsyncConnection, new: list[NewPush]) -> list[int]:
    """Stores the pushes and their deliveries (queued); their ids, in order."""
    if not new:
        return []
    cur = await conn.execute(
        "INSERT INTO rpns_pushes (message_id, interface_id, app_id, content, valid_until)"
        " SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::bytea[],"
        " %s::timestamptz[]) RETURNING id, message_id",
        (
            [p.message_id for p in new],
            [p.interface_id for p in new],
            [p.app_id for p in new],
            [p.content for p in new],
            [p.valid_until for p in new],
        ),
    )
    by_message = {str(m): int(i) for i, m in await cur.fetchall()}
    ids = [by_message[p.message_id] for p in new]
    pairs = [(i, install) for i, p in zip(ids, new, strict=True) for install in p.install_ids]
    await conn.execute(
        "INSERT INTO rpns_deliveries (push_id, install_id)"
        " SELECT * FROM unnest(%s::bigint[], %s::uuid[])",
        ([i for i, _ in pairs], [d for _, d in pairs]),
    )
    return ids


@dataclass(frozen=True, slots=True)
class Claimed:
    push_id: int
    install_id: str
    attempts: int
    token: str
    platform: Platform
    app_id: int
    content: bytes
    valid_until: dt.datetime


async def claim(conn: psycopg.AsyncConnection, *, limit: int, lease: float) -> list[Claimed]:
    """Due queued deliveries, leased: another sender takes them only after the lease."""
    cur = await conn.execute(
        "WITH due AS ("
        "  SELECT push_id, install_id FROM rpns_deliveries"
        "  WHERE state = 0 AND next_at <= now() ORDER BY next_at LIMIT %s"
        "  FOR UPDATE SKIP LOCKED),"
        " leased AS ("
        "  UPDATE rpns_deliveries d SET next_at = now() + make_interval(secs => %s),"
        "   attempts = d.attempts + 1"
        "  FROM due WHERE d.push_id = due.push_id AND d.install_id = due.install_id"
        "  RETURNING d.push_id, d.install_id, d.attempts)"
        " SELECT l.push_id, l.install_id, l.attempts, i.token, i.platform, p.app_id,"
        "  p.content, p.valid_until"
        " FROM leased l JOIN rpns_installs i ON i.id = l.install_id"
        " JOIN rpns_pushes p ON p.id = l.push_id",
        (limit, lease),
    )
    return [
        Claimed(
            push_id=r[0],
            install_id=str(r[1]),
            attempts=r[2],
            token=r[3],
            platform=Platform(r[4]),
            app_id=r[5],
            content=bytes(r[6]),
            valid_until=r[7],
        )
        for r in await cur.fetchall()
    ]


@dataclass(slots=True)
class Results:
    """What the push services answered for a round of claimed deliveries."""

    sent: list[tuple[int, str]]
    retry: list[tuple[int, str, float, str]]  # key, seconds to wait, detail
    failed: list[tuple[int, str, int, str]]  # key, extended code, detail
    disable: list[tuple[str, str]]  # install id, reason


async def record(conn: psycopg.AsyncConnection, results: Results) -> list[int]:
    """Stores a round's outcomes; returns the pushes that became UNDELIVERED (every
    delivery failed for good)."""
    if results.sent:
        # Only from QUEUED: the device may have confirmed before the service's answer came.
        await conn.execute(
            "UPDATE rpns_deliveries d SET state = 1, updated_at = now(), detail = ''"
            " FROM unnest(%s::bigint[], %s::uuid[]) AS t(p, i)"
            " WHERE d.push_id = t.p AND d.install_id = t.i AND d.state = 0",
            ([p for p, _ in results.sent], [i for _, i in results.sent]),
        )
    if results.retry:
        await conn.execute(
            "UPDATE rpns_deliveries d SET next_at = now() + make_interval(secs => t.s),"
            " detail = t.why, updated_at = now()"
            " FROM unnest(%s::bigint[], %s::uuid[], %s::float8[], %s::text[]) AS t(p, i, s, why)"
            " WHERE d.push_id = t.p AND d.install_id = t.i AND d.state = 0",
            tuple(list(col) for col in zip(*results.retry, strict=True)),
        )
    if results.disable:
        await conn.execute(
            "UPDATE rpns_installs i SET active = false, is_primary = false,"
            " disabled_reason = t.why FROM unnest(%s::uuid[], %s::text[]) AS t(id, why)"
            " WHERE i.id = t.id",
            tuple(list(col) for col in zip(*results.disable, strict=True)),
        )
    if not results.failed:
        return []
    await conn.execute(
        "UPDATE rpns_deliveries d SET state = 4, error_code = t.code, detail = t.why,"
        " updated_at = now()"
        " FROM unnest(%s::bigint[], %s::uuid[], %s::int[], %s::text[]) AS t(p, i, code, why)"
        " WHERE d.push_id = t.p AND d.install_id = t.i AND d.state = 0",
        tuple(list(col) for col in zip(*results.failed, strict=True)),
    )
    # A push fails when every delivery has; its code is the service's error (28) unless
    # every install was gone from its device (26).
    cur = await conn.execute(
        "UPDATE rpns_pushes p SET status = %s, status_at = now(),"
        " error_code = (SELECT max(error_code) FROM rpns_deliveries d WHERE d.push_id = p.id)"
        " WHERE p.id = ANY(%s) AND p.status = 0 AND NOT EXISTS ("
        "  SELECT 1 FROM rpns_deliveries d WHERE d.push_id = p.id AND d.state <> 4)"
        " RETURNING p.id",
        (UNDELIVERED, sorted({p for p, _, _, _ in results.failed})),
    )
    return [int(r[0]) for r in await cur.fetchall()]


async def confirm(
    conn: psycopg.AsyncConnection,
    push_id: int,
    *,
    install_id: str | None,
    token: str | None,
    opened: bool,
) -> bool:
    """The device's delivered / opened receipt (idempotent); False when no delivery of the
    push to that install exists. The push becomes DELIVERED at its first confirmed install
    (F34), READ at its first opened one."""
    state = DeliveryState.OPENED if opened else DeliveryState.DELIVERED
    cur = await conn.execute(
        "WITH target AS ("
        "  SELECT d.push_id, d.install_id FROM rpns_deliveries d"
        "  JOIN rpns_installs i ON i.id = d.install_id"
        "  WHERE d.push_id = %s AND (i.id = %s::uuid OR i.token = %s))"
        " UPDATE rpns_deliveries d SET state = GREATEST(d.state, %s), updated_at = now()"
        " FROM target t WHERE d.push_id = t.push_id AND d.install_id = t.install_id"
        " AND d.state <> 4 RETURNING d.install_id",
        (push_id, install_id, token, int(state)),
    )
    row = await cur.fetchone()
    if row is None:
        cur = await conn.execute(
            "SELECT 1 FROM rpns_deliveries d JOIN rpns_installs i ON i.id = d.install_id"
            " WHERE d.push_id = %s AND (i.id = %s::uuid OR i.token = %s)",
            (push_id, install_id, token),
        )
        return await cur.fetchone() is not None
    await conn.execute("UPDATE rpns_installs SET last_seen_at = now() WHERE id = %s", (row[0],))
    status = READ if opened else DELIVERED
    await conn.execute(
        "UPDATE rpns_pushes SET status = %s, error_code = 0, status_at = now()"
        " WHERE id = %s AND status IN (0, %s, %s) AND status <> %s",
        (status, push_id, DELIVERED, UNDELIVERED, status),
    )
    return True


@dataclass(frozen=True, slots=True)
class Unreported:
    push_id: int
    interface_id: str
    status: int
    error_code: int
    status_at: dt.datetime
    reported_status: int


async def unreported(conn: psycopg.AsyncConnection, limit: int) -> list[Unreported]:
    cur = await conn.execute(
        "SELECT id, interface_id, status, error_code, status_at, reported_status"
        " FROM rpns_pushes WHERE status <> reported_status ORDER BY id LIMIT %s",
        (limit,),
    )
    return [Unreported(*r) for r in await cur.fetchall()]


async def mark_reported(conn: psycopg.AsyncConnection, done: list[tuple[int, int]]) -> None:
    """(push id, status core stored); a push that moved on since stays in the outbox."""
    await conn.execute(
        "UPDATE rpns_pushes p SET reported_status = t.st"
        " FROM unnest(%s::bigint[], %s::smallint[]) AS t(id, st)"
        " WHERE p.id = t.id AND p.status = t.st",
        ([i for i, _ in done], [s for _, s in done]),
    )
