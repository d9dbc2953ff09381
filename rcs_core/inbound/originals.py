"""The partner's message a subscriber's messenger reply answers (issue 17): named by the
provider either with our own id (Viber's tracking_data) or with its own (WhatsApp's
context wamid, matched like a receipt's operator id on the interface it came by).

Only a message of the partner the reply is routed to is named in its MO: a reply that
quotes another partner's message (a forged or stale id) goes without one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from rcs_core.delivery.receipts_store import receipt_keys


@dataclass(frozen=True, slots=True)
class Original:
    message_id: int  # the id the partner knows it by (a cascade's id for its links)
    partner_id: int
    client_ref: str  # the partner's own id for it (REST id, SMPP ptag), if any
    sender: str  # what it was sent from: the number or name a reply goes to


async def find(
    conn: psycopg.AsyncConnection,
    by_id: Sequence[str],
    by_operator_id: Sequence[tuple[str, str]],
) -> tuple[dict[str, Original], dict[tuple[str, str], Original]]:
    """The originals named by platform id, and by (interface, operator id)."""
    operator_hits: dict[tuple[str, str], int] = {}
    for iface, raw in set(by_operator_id):
        keys = receipt_keys(raw)
        if not keys:
            continue
        cur = await conn.execute(
            "SELECT message_id FROM operator_ids WHERE interface_id = %s"
            " AND (operator_key = ANY(%s) OR alt_key = ANY(%s))"
            " ORDER BY created_at DESC LIMIT 1",
            (iface, keys, keys),
        )
        row = await cur.fetchone()
        if row is not None:
            operator_hits[(iface, raw)] = int(row[0])
    ids = {int(i) for i in by_id if i.isdigit() and len(i) <= 18} | set(operator_hits.values())
    found: dict[int, Original] = {}
    if ids:
        cur = await conn.execute(
            "SELECT m.id, COALESCE(m.cascade_id, m.id), m.partner_id,"
            " COALESCE(m.client_ref, m.ptag, f.client_ref, f.ptag, ''), m.sender FROM messages m"
            " LEFT JOIN messages f ON f.id = m.cascade_id AND f.id <> m.id"
            " WHERE m.id = ANY(%s)",
            (sorted(ids),),
        )
        for mid, known_as, partner_id, ref, sender in await cur.fetchall():
            found[int(mid)] = Original(int(known_as), int(partner_id), str(ref), str(sender))
    named = {i: found[int(i)] for i in by_id if i.isdigit() and int(i) in found}
    quoted = {k: found[v] for k, v in operator_hits.items() if v in found}
    return named, quoted
