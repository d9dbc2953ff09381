"""Operator receipts → part statuses → a message's final status.

A receipt is matched by (interface, normalised operator id) against operator_ids, on
either the id as the operator answered it or its hex/decimal twin. A receipt that matches
nothing yet (it overtook the submit_sm_resp being recorded) waits in pending_receipts and
is applied when the id is recorded; nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg

from rcs_core.statuses import Status
from rcs_core.storage.finalize import finalize
from rcs_smpp.ids import message_id_variants, normalize_message_id

if TYPE_CHECKING:
    from rcs_core.storage.dispatch import SentPart


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
    if keys:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(k, 0))"
            " FROM unnest(%s::text[]) WITH ORDINALITY AS t(k, n) ORDER BY n",
            (sorted(f"{i}:{k}" for i, k in keys),),
        )


async def record(conn: psycopg.AsyncConnection, items: Sequence[ReceiptIn]) -> int:
    """Apply receipts inside the caller's transaction; returns how many matched a part."""
    await lock_operator_ids(conn, {(r.interface_id, k) for r in items for k in r.keys})
    matched = 0
    for r in items:
        cur = await conn.execute(
            "SELECT message_id, part_no FROM operator_ids"
            " WHERE interface_id = %s AND (operator_key = ANY(%s) OR alt_key = ANY(%s))"
            " ORDER BY (operator_key = %s) DESC, created_at DESC LIMIT 1",
            (r.interface_id, r.keys, r.keys, r.keys[0]),
        )
        row = await cur.fetchone()
        if row is None:
            await conn.execute(
                "INSERT INTO pending_receipts"
                " (interface_id, operator_keys, status, error_code, operator_state)"
                " VALUES (%s, %s, %s, %s, %s)",
                (r.interface_id, r.keys, int(r.status), r.error_code, r.operator_state),
            )
            continue
        matched += 1
        await _apply_to_part(conn, row[0], row[1], r.status, r.error_code, r.operator_state)
    return matched


async def apply_pending(
    conn: psycopg.AsyncConnection, parts: Sequence[tuple[str, SentPart]]
) -> None:
    """Apply receipts that arrived before these parts' operator ids were recorded."""
    for interface_id, part in parts:
        keys = [part.operator_key] + ([part.alt_key] if part.alt_key else [])
        cur = await conn.execute(
            "DELETE FROM pending_receipts WHERE interface_id = %s AND operator_keys && %s"
            " RETURNING status, error_code, operator_state",
            (interface_id, keys),
        )
        for status, error_code, state in await cur.fetchall():
            await _apply_to_part(
                conn, part.message_id, part.part_no, Status(status), error_code, state
            )


async def _apply_to_part(
    conn: psycopg.AsyncConnection,
    message_id: int,
    part_no: int,
    status: Status,
    error_code: int,
    operator_state: str,
) -> None:
    if not status.is_final:
        return
    await conn.execute(
        "UPDATE operator_ids SET status = %s, error_code = %s"
        " WHERE message_id = %s AND part_no = %s AND status = %s",
        (int(status), error_code, message_id, part_no, int(Status.SENT)),
    )
    cur = await conn.execute(
        "SELECT count(*) FILTER (WHERE o.status = 2), max(m.part_count),"
        " (array_agg(o.status ORDER BY o.part_no) FILTER (WHERE o.status NOT IN (2, 3)))[1],"
        " (array_agg(o.error_code ORDER BY o.part_no) FILTER (WHERE o.status NOT IN (2, 3)))[1]"
        " FROM operator_ids o JOIN messages m ON m.id = o.message_id"
        " WHERE o.message_id = %s",
        (message_id,),
    )
    row = await cur.fetchone()
    if row is None or row[0] != 0 or row[1] is None:
        return  # some part still waits for its receipt
    if row[2] is None:
        await finalize(conn, [(message_id, Status.DELIVERED, 0, operator_state)])
    else:
        await finalize(conn, [(message_id, Status(row[2]), row[3], operator_state)])
