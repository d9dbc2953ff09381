"""The dispatch queue: claim with FOR UPDATE SKIP LOCKED, then record each outcome.

A worker claims rows inside a transaction and keeps it open while the connector sends;
if the worker dies, PostgreSQL rolls the transaction back and the rows are claimable
again. Outcomes are written in the same transaction, so a message is either still
queued or has its SENT/final status — never neither.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from rcs_core.db.by_partition import created_bounds
from rcs_core.delivery import receipts_store as receipts
from rcs_core.delivery.finalize import finalize
from rcs_core.messages.statuses import Status
from rcs_smpp.ids import message_id_variants


@dataclass(frozen=True, slots=True)
class Claimed:
    message_id: int
    created_at: dt.datetime
    attempts: int
    partner_id: int
    partner: str
    channel: int
    destination: str
    sender: str
    body: str
    valid_until: dt.datetime
    receipt_request: int
    trace_parent: str
    traffic_type: int | None = None  # None: routing takes the sender name's type
    mailing: str = ""
    # The partner's sending window (messages.window_*): begin, end, weekday mask, offset.
    window_begin: int | None = None
    window_end: int | None = None
    window_days: int | None = None
    window_offset: int | None = None
    flash: bool = False
    data_coding: int | None = None  # a binary SMS: body is its octets in hex
    esm_class: int | None = None
    push: bytes | None = None  # CHANNEL_PUSH: serialized rcs.common.v1.PushContent
    mailing_id: int | None = None  # the core mailing that fed it (messages.mailing_id)
    # Parts an operator accepted in an earlier attempt (migration 0025), None: none.
    sent_parts: SentParts | None = None


@dataclass(frozen=True, slots=True)
class SentParts:
    """The parts of a multi-part SMS accepted before another part failed: (part number,
    operator id, receipt scope) each, of ``of`` parts in all."""

    of: int
    parts: tuple[tuple[int, str, str], ...]

    @staticmethod
    def from_json(doc: Any) -> SentParts | None:
        if not doc:
            return None
        return SentParts(
            int(doc["of"]), tuple((int(n), str(i), str(s)) for n, i, s in doc["parts"])
        )

    def to_json(self) -> str:
        return json.dumps({"of": self.of, "parts": [list(p) for p in self.parts]})


# The queue rows are picked (ordered, limited, locked) on their own: joining messages
# first made PostgreSQL join every due row of a backlog and sort them all for each claim
# (107 ms with 8,400 due, against 6 ms this way).
_CLAIM_QUEUE = (
    "SELECT message_id, created_at, attempts, sent_parts FROM dispatch_queue"
    " WHERE not_before <= now() AND {where}"
    " ORDER BY priority DESC, not_before, message_id"
    " LIMIT %(limit)s FOR UPDATE SKIP LOCKED"
)
# Their messages are then read by (id, created_at) in the days the batch spans, unprepared
# (db.by_partition). Joined in the claim above, PostgreSQL planned the join over every
# day partition of retention at each call: 5.8 ms of planning per claim on a database
# holding 30 days, ≈ 40% of a core at 420 msg/s.
# LEFT JOIN partners: a message whose partner row is gone (a cluster's settings rewind removed
# a partner the master never had) is still claimed and sent. With an inner join it stayed
# queued, locked and skipped at the head of the queue, and once a whole batch was such rows
# the dispatcher found "nothing due" and sent nothing more at all (issue 19).
_CLAIMED_MESSAGES = (
    "SELECT m.id, m.partner_id, coalesce(p.login, ''), m.channel, m.destination, m.sender, m.body,"
    " m.valid_until, m.receipt_request, m.trace_parent, m.traffic_type, m.mailing,"
    " m.window_begin, m.window_end, m.window_days, m.window_offset, coalesce(m.flash, false),"
    " m.data_coding, m.esm_class, m.push, m.mailing_id"
    " FROM messages m"
    " JOIN unnest(%b::bigint[], %b::timestamptz[]) AS t(id, created)"
    "  ON m.id = t.id AND m.created_at = t.created"
    " LEFT JOIN partners p ON p.id = m.partner_id"
    " WHERE m.created_at BETWEEN %b AND %b"
)


async def claim(
    conn: psycopg.AsyncConnection, limit: int, shares: dict[int, int] | None = None
) -> list[Claimed]:
    """Claim up to ``limit`` due messages, higher priority first but never starving lower.

    With ``shares`` (priority → weight) each priority first gets its share of the batch
    (at least one row when it has any), oldest first; what the shares leave unused is then
    filled in plain priority order. So under a backlog of priority 2, priority 0 still gets
    its share of every batch instead of waiting for the backlog to drain.
    """
    queued: list[Any] = []
    if shares:
        total = sum(shares.values())
        for priority, weight in sorted(shares.items(), reverse=True):
            quota = max(1, limit * weight // total)
            cur = await conn.execute(
                _CLAIM_QUEUE.format(where="priority = %(priority)s"),
                {"priority": priority, "limit": min(quota, limit - len(queued))},
            )
            queued += await cur.fetchall()
            if len(queued) >= limit:
                break
    if len(queued) < limit:
        cur = await conn.execute(
            _CLAIM_QUEUE.format(where="NOT (message_id = ANY(%(taken)s))"),
            {"taken": [row[0] for row in queued], "limit": limit - len(queued)},
        )
        queued += await cur.fetchall()
    if not queued:
        return []
    ids = [row[0] for row in queued]
    created = [row[1] for row in queued]
    cur = await conn.execute(
        _CLAIMED_MESSAGES, (ids, created, *created_bounds(created)), prepare=False
    )
    messages = {row[0]: row[1:] for row in await cur.fetchall()}
    # In the queue's order; a queue row whose message is gone (never, short of a partition
    # dropped under it) stays locked and unclaimed, as the join used to leave it.
    return [
        _claimed(message_id, created_at, attempts, sent_parts, messages[message_id])
        for message_id, created_at, attempts, sent_parts in queued
        if message_id in messages
    ]


def _claimed(
    message_id: int, created_at: dt.datetime, attempts: int, sent_parts: Any, message: Any
) -> Claimed:
    claimed = Claimed(message_id, created_at, attempts, *message)
    sent = SentParts.from_json(sent_parts)
    return claimed if sent is None else dataclasses.replace(claimed, sent_parts=sent)


async def filtered(
    conn: psycopg.AsyncConnection, claimed: list[Claimed]
) -> dict[int, tuple[int, str]]:
    """message id → (extended error code, reason) for messages not to send: numbers on the
    global or the partner's black list (10 filtered) — except, for a message a core mailing
    fed, an entry listed after that mailing was created to keep the number in existing
    mailings (an FTP B file's N) —, numbers marked inactive (the code that marked them), and
    numbers missing from the white list of the message's mailing when that mailing has one
    (10 filtered)."""
    if not claimed:
        return {}
    args = (
        [c.message_id for c in claimed],
        [c.destination for c in claimed],
        [c.partner_id for c in claimed],
    )
    black_args = (*args, [c.mailing_id for c in claimed])
    mailing_args = (
        [c.message_id for c in claimed if c.mailing],
        [c.destination for c in claimed if c.mailing],
        [c.partner for c in claimed if c.mailing],
        [c.mailing for c in claimed if c.mailing],
    )
    cur = await conn.execute(
        "SELECT t.mid, 10, 'blacklisted'"
        " FROM unnest(%b::bigint[], %b::text[], %b::bigint[], %b::bigint[]) AS t(mid, dst, pid, ml)"
        " WHERE EXISTS (SELECT 1 FROM blacklist b WHERE b.number = t.dst"
        "  AND (b.partner_id IS NULL OR b.partner_id = t.pid)"
        "  AND (NOT b.keep_in_mailings OR t.ml IS NULL"
        "   OR b.created_at < (SELECT g.created_at FROM mailings g WHERE g.id = t.ml)))"
        " UNION ALL"
        " SELECT t.mid, i.error_code, 'inactive_number'"
        " FROM unnest(%b::bigint[], %b::text[], %b::bigint[]) AS t(mid, dst, pid)"
        " JOIN inactive_numbers i ON i.number = t.dst AND i.expires_at > now()"
        " UNION ALL"
        " SELECT t.mid, 10, 'not_on_mailing_whitelist'"
        " FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::text[]) AS t(mid, dst, login, ml)"
        " WHERE EXISTS (SELECT 1 FROM whitelist w WHERE w.partner = t.login AND w.mailing = t.ml)"
        " AND NOT EXISTS (SELECT 1 FROM whitelist w WHERE w.partner = t.login"
        "  AND w.mailing = t.ml AND w.number = t.dst)",
        (*black_args, *args, *mailing_args),
    )
    out: dict[int, tuple[int, str]] = {}
    for mid, code, why in await cur.fetchall():
        out.setdefault(mid, (code, why))
    return out


@dataclass(frozen=True, slots=True)
class SentPart:
    message_id: int
    part_no: int
    operator_key: str
    alt_key: str | None
    message_created_at: dt.datetime  # the message's partition key, kept for its receipt


async def record_sent(
    conn: psycopg.AsyncConnection,
    items: list[tuple[Claimed, str, int, int | None]],
    parts: list[tuple[str, SentPart]],
) -> None:
    """items: (claimed, interface_id, part_count, traffic type routing decided on, if any); parts:
    (receipt scope, part). Marks SENT, keeps the traffic type for the status report
    (rest_status.rst's trafficType) where the partner gave none, stores operator ids,
    dequeues, then applies any receipt that arrived before its id was known (a part
    accepted in an earlier attempt included)."""
    if not items:
        return
    ids = [c.message_id for c, _, _, _ in items]
    created = [c.created_at for c, _, _, _ in items]
    await conn.execute(
        "UPDATE messages m SET status = %s, status_at = now(), interface_id = t.iface,"
        " part_count = t.parts, traffic_type = coalesce(m.traffic_type, t.traffic)"
        " FROM unnest(%b::bigint[], %b::timestamptz[], %b::text[], %b::int[], %b::smallint[])"
        "   AS t(id, created, iface, parts, traffic)"
        " WHERE m.id = t.id AND m.created_at = t.created AND m.status = %s"
        " AND m.created_at BETWEEN %s AND %s",
        (
            int(Status.SENT),
            ids,
            created,
            [i for _, i, _, _ in items],
            [n for _, _, n, _ in items],
            [t for _, _, _, t in items],
            int(Status.ACCEPTED),
            *created_bounds(created),
        ),
        prepare=False,  # planned with the days at hand: db.by_partition
    )
    await conn.execute(
        "INSERT INTO status_events (message_id, partner_id, status)"
        " SELECT id, pid, %s FROM unnest(%b::bigint[], %b::bigint[]) AS t(id, pid)",
        (int(Status.SENT), ids, [c.partner_id for c, _, _, _ in items]),
    )
    if parts:
        await receipts.lock_operator_ids(
            conn, {(scope, k) for scope, p in parts for k in message_id_variants(p.operator_key)}
        )
        await conn.execute(
            "INSERT INTO operator_ids (interface_id, operator_key, alt_key, message_id, part_no,"
            " message_created_at)"
            " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::bigint[], %b::int[],"
            " %b::timestamptz[])",
            (
                [scope for scope, _ in parts],
                [p.operator_key for _, p in parts],
                [p.alt_key for _, p in parts],
                [p.message_id for _, p in parts],
                [p.part_no for _, p in parts],
                [p.message_created_at for _, p in parts],
            ),
        )
    await conn.execute("DELETE FROM dispatch_queue WHERE message_id = ANY(%s)", (ids,))
    if parts:
        await receipts.apply_pending(conn, parts=parts)


async def record_final(
    conn: psycopg.AsyncConnection,
    items: list[tuple[Claimed, Status, int, str]],
) -> None:
    """items: (claimed, final status, extended error code, detail). Finalises and dequeues."""
    if not items:
        return
    await finalize(
        conn,
        [(c.message_id, s, e, d) for c, s, e, d in items],
        created_at={c.message_id: c.created_at for c, _, _, _ in items},
    )
    await conn.execute(
        "DELETE FROM dispatch_queue WHERE message_id = ANY(%s)",
        ([c.message_id for c, _, _, _ in items],),
    )


async def record_retry(
    conn: psycopg.AsyncConnection,
    items: Sequence[tuple[Claimed, dt.timedelta, str, SentParts | None]],
) -> None:
    """items: (claimed, delay, why, the parts accepted so far or None). Back in the queue
    after the delay, an attempt counted; parts given replace those kept (they include
    them). The delay counts from this statement, not from the batch's claim: a provider's
    Retry-After is counted from its answer, after the call."""
    if not items:
        return
    await conn.execute(
        "UPDATE dispatch_queue q SET attempts = q.attempts + 1,"
        " not_before = statement_timestamp() + t.delay,"
        " last_error = t.err, sent_parts = coalesce(t.sent::jsonb, q.sent_parts)"
        " FROM unnest(%b::bigint[], %b::interval[], %b::text[], %b::text[])"
        "   AS t(id, delay, err, sent)"
        " WHERE q.message_id = t.id",
        (
            [i[0].message_id for i in items],
            [i[1] for i in items],
            [i[2] for i in items],
            [None if i[3] is None else i[3].to_json() for i in items],
        ),
    )


async def record_hold(
    conn: psycopg.AsyncConnection, items: list[tuple[Claimed, dt.datetime, str]]
) -> None:
    """items: (claimed, not before, why). Back in the queue until then, and unlike a retry
    no attempt is counted: nothing was tried (advertising outside its allowed hours)."""
    if not items:
        return
    await conn.execute(
        "UPDATE dispatch_queue q SET not_before = t.until, last_error = t.why"
        " FROM unnest(%b::bigint[], %b::timestamptz[], %b::text[]) AS t(id, until, why)"
        " WHERE q.message_id = t.id",
        (
            [c.message_id for c, _, _ in items],
            [u for _, u, _ in items],
            [w for _, _, w in items],
        ),
    )
