"""Operator receipts → part statuses → a message's final status.

A receipt is matched by (interface, normalised operator id) against operator_ids, on
either the id as the operator answered it or its hex/decimal twin. A receipt that matches
nothing yet (it overtook the submit_sm_resp being recorded) waits in pending_receipts and
is applied when the id is recorded; nothing is dropped. In a cluster a parked receipt may
belong to another installation's message (same operator account, any bind): core's
receipt_forwarder offers it to the peers, which apply it here with ``park=False``.

Operator ids are looked up only in the partitions of the last ``horizon`` (the longest
validity plus the receipt grace): a receipt for an older id would find its message
expired by maintenance already. Messages are then found by (id, created_at), in their one
partition. Both keep a receipt's cost the same with 30 days of partitions as with one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg

from rcs_core.db import locks
from rcs_core.db.by_partition import created_bounds
from rcs_core.delivery.finalize import finalize
from rcs_core.messages.statuses import Status
from rcs_core.messages.validation import MAX_TTL
from rcs_smpp.ids import message_id_variants, normalize_message_id

if TYPE_CHECKING:
    from rcs_core.delivery.queue_store import SentPart


DEFAULT_HORIZON = MAX_TTL + dt.timedelta(hours=1)  # core's default RCS_RECEIPT_GRACE_SECONDS


def receipt_keys(raw_operator_id: str) -> list[str]:
    """The normalised operator id first, then its hex/decimal twins (rcs_smpp.ids)."""
    key = normalize_message_id(raw_operator_id)
    return [key, *sorted(message_id_variants(raw_operator_id) - {key})] if key else []


@dataclass(frozen=True, slots=True)
class ReceiptIn:
    interface_id: str
    keys: list[str]  # normalised id first, then its variants
    status: Status
    error_code: int
    operator_state: str


async def lock_operator_ids(conn: psycopg.AsyncConnection, keys: set[tuple[str, str]]) -> None:
    """Transaction-scoped advisory locks on (interface, id spelling), taken in one global
    order. The dispatcher recording ids and a receipt looking them up both lock every
    spelling they know, so when the spellings match they serialise: either the receipt sees
    the committed id, or the dispatcher sees the committed pending receipt. Without this a
    receipt racing the submit_sm_resp's transaction could be parked and never applied."""
    await locks.lock_all(conn, locks.LockSpace.RECEIPT_KEYS, (f"{i}:{k}" for i, k in keys))


async def record(
    conn: psycopg.AsyncConnection,
    items: Sequence[ReceiptIn],
    *,
    horizon: dt.timedelta = DEFAULT_HORIZON,
) -> int:
    """Apply receipts inside the caller's transaction, set-wise (a few statements for the
    whole batch), parking the unmatched ones; returns how many matched a part."""
    return len(await apply(conn, items, horizon=horizon, park=True))


async def apply(
    conn: psycopg.AsyncConnection,
    items: Sequence[ReceiptIn],
    *,
    horizon: dt.timedelta = DEFAULT_HORIZON,
    park: bool,
) -> set[int]:
    """Apply receipts inside the caller's transaction; returns the positions in ``items``
    that matched a part. ``park``: keep the others in pending_receipts (receipts from our
    own binds); a peer's forwarded receipts are not parked, the peer keeps them."""
    if not items:
        return set()
    await lock_operator_ids(conn, {(r.interface_id, k) for r in items for k in r.keys})
    rows = [(r.interface_id, k, n, r.keys[0]) for n, r in enumerate(items) for k in r.keys]
    # LATERAL index lookups per key, one for each column: a join ON (a = k OR b = k) makes
    # the planner hash-join against a scan of every operator_ids partition. A row written
    # before migration 0022 has no message_created_at: its message is looked up by id
    # (_apply_to_parts; a scalar subquery here made every lookup 30x slower).
    cur = await conn.execute(
        "SELECT DISTINCT ON (r.n) r.n, m.message_id, m.part_no, m.message_created_at"
        " FROM unnest(%b::text[], %b::text[], %b::int[], %b::text[]) AS r(iface, k, n, first)"
        " CROSS JOIN LATERAL ("
        "  SELECT o.message_id, o.part_no, o.operator_key = r.first AS exact, o.created_at,"
        "  o.message_created_at"
        "  FROM operator_ids o WHERE o.interface_id = r.iface AND o.operator_key = r.k"
        "  AND o.created_at > now() - %b::interval"
        "  UNION ALL"
        "  SELECT o.message_id, o.part_no, o.operator_key = r.first, o.created_at,"
        "  o.message_created_at"
        "  FROM operator_ids o WHERE o.interface_id = r.iface AND o.alt_key = r.k"
        "  AND o.created_at > now() - %b::interval) AS m"
        " ORDER BY r.n, m.exact DESC, m.created_at DESC",
        (
            [x[0] for x in rows],
            [x[1] for x in rows],
            [x[2] for x in rows],
            [x[3] for x in rows],
            horizon,
            horizon,
        ),
    )
    found = {n: (mid, part, created) for n, mid, part, created in await cur.fetchall()}
    waiting = [(n, r) for n, r in enumerate(items) if n not in found]
    if waiting and park:
        flat = [(n, r, pos, k) for n, r in waiting for pos, k in enumerate(r.keys)]
        await conn.execute(
            "INSERT INTO pending_receipts"
            " (interface_id, operator_keys, status, error_code, operator_state)"
            " SELECT iface, array_agg(k ORDER BY pos), st, err, state"
            " FROM unnest(%b::int[], %b::text[], %b::int[], %b::text[], %b::smallint[],"
            " %b::int[], %b::text[]) AS t(n, iface, pos, k, st, err, state)"
            " GROUP BY n, iface, st, err, state",
            (
                [f[0] for f in flat],
                [f[1].interface_id for f in flat],
                [f[2] for f in flat],
                [f[3] for f in flat],
                [int(f[1].status) for f in flat],
                [f[1].error_code for f in flat],
                [f[1].operator_state for f in flat],
            ),
        )
    await _apply_to_parts(
        conn,
        [
            (mid, part, items[n].status, items[n].error_code, items[n].operator_state)
            for n, (mid, part, _) in found.items()
        ],
        {mid: created for mid, _, created in found.values() if created is not None},
        horizon,
    )
    return set(found)


async def apply_pending(
    conn: psycopg.AsyncConnection,
    parts: Sequence[tuple[str, SentPart]],
    *,
    horizon: dt.timedelta = DEFAULT_HORIZON,
) -> None:
    """Apply receipts that arrived before these parts' operator ids were recorded."""
    if not parts:
        return
    cur = await conn.execute(
        "DELETE FROM pending_receipts p"
        " USING unnest(%b::text[], %b::text[], %b::text[], %b::bigint[], %b::int[])"
        "   AS t(iface, k1, k2, mid, part)"
        " WHERE p.interface_id = t.iface AND p.operator_keys && ARRAY[t.k1, t.k2]"
        " RETURNING t.mid, t.part, p.status, p.error_code, p.operator_state",
        (
            [i for i, _ in parts],
            [p.operator_key for _, p in parts],
            [p.alt_key for _, p in parts],
            [p.message_id for _, p in parts],
            [p.part_no for _, p in parts],
        ),
    )
    rows = [
        (mid, part, Status(st), err, state) for mid, part, st, err, state in await cur.fetchall()
    ]
    created = {p.message_id: p.message_created_at for _, p in parts}
    # A part may have waited with DELIVERED and READ (a messenger's "read" brings both): one
    # UPDATE sets a row once, from whichever of its matches it meets, so READ goes after.
    for batch in (
        [r for r in rows if r[2] != Status.READ],
        [r for r in rows if r[2] == Status.READ],
    ):
        await _apply_to_parts(conn, batch, created, horizon)


async def _apply_to_parts(
    conn: psycopg.AsyncConnection,
    updates: Sequence[tuple[int, int, Status, int, str]],
    created_at: dict[int, dt.datetime],
    horizon: dt.timedelta,
) -> None:
    """Set part statuses; messages whose every part is now final get their final status:
    DELIVERED when all parts were, else the first failed part's status and code.
    ``created_at``: message id → its created_at, where known."""
    updates = [u for u in updates if u[2].is_final]
    if not updates:
        return
    # One transaction per message at a time: two receipts for different parts of one
    # message, applied concurrently, would each still see the other part SENT and neither
    # would finalise it (write skew). The row lock makes the second wait and then see the
    # first. Always in id order; the dispatcher holds only its own batch's rows here.
    ids = sorted({u[0] for u in updates})
    if all(i in created_at for i in ids):
        created = [created_at[i] for i in ids]
        await conn.execute(
            "SELECT 1 FROM messages m"
            " JOIN unnest(%b::bigint[], %b::timestamptz[]) AS t(id, created)"
            "  ON m.id = t.id AND m.created_at = t.created"
            " WHERE m.created_at BETWEEN %b AND %b"
            " ORDER BY m.id FOR UPDATE OF m",
            (ids, created, *created_bounds(created)),
            prepare=False,  # planned with the days at hand: db.by_partition
        )
    else:
        await conn.execute(
            "SELECT 1 FROM messages WHERE id = ANY(%s) ORDER BY id FOR UPDATE", (ids,)
        )
    cur = await conn.execute(
        "UPDATE operator_ids o SET status = t.st, error_code = t.err"
        " FROM unnest(%b::bigint[], %b::int[], %b::smallint[], %b::int[]) AS t(mid, part, st, err)"
        " WHERE o.message_id = t.mid AND o.part_no = t.part"
        " AND (o.status = %s OR (t.st = 7 AND o.status = 3))"
        " AND o.created_at > now() - %s::interval"
        " RETURNING o.message_id",
        (
            [u[0] for u in updates],
            [u[1] for u in updates],
            [int(u[2]) for u in updates],
            [u[3] for u in updates],
            int(Status.SENT),
            horizon,
        ),
    )
    touched = sorted({row[0] for row in await cur.fetchall()})
    if not touched:
        return
    cur = await conn.execute(
        "SELECT o.message_id,"
        " (array_agg(o.status ORDER BY o.part_no) FILTER (WHERE o.status <> 3))[1],"
        " (array_agg(o.error_code ORDER BY o.part_no) FILTER (WHERE o.status <> 3))[1]"
        " FROM operator_ids o WHERE o.message_id = ANY(%s)"
        " AND o.created_at > now() - %s::interval"
        " GROUP BY o.message_id HAVING count(*) FILTER (WHERE o.status = 2) = 0",
        (touched, horizon),
    )
    state_of = {u[0]: u[4] for u in updates}
    await finalize(
        conn,
        [
            (mid, Status(st) if st is not None else Status.DELIVERED, err or 0, state_of[mid])
            for mid, st, err in await cur.fetchall()
        ],
        created_at=created_at,
    )
