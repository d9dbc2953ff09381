"""Subscribers a messenger names by its own id instead of their number (issue 17: VK's
user id, the "peer"), migration 0135.

A receipt that names its peer (VK's message_reply of our message) keeps, per (receipt
scope, peer), the number, sender and id of the last message sent to that subscriber. A
reply that names only the peer becomes an MO from that number to that sender, answering
that message (or the one the provider quotes), so that it reaches the partner owning the
sender like any reply; a peer with no row is nobody we wrote to, and its reply is not
stored."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg


@dataclass(frozen=True, slots=True)
class PeerSeen:
    interface_id: str
    operator_key: str  # the receipt's normalised operator id
    peer: str


@dataclass(frozen=True, slots=True)
class Peer:
    message_id: int  # the last message sent to the subscriber
    phone: str
    sender: str


async def remember(
    conn: psycopg.AsyncConnection, seen: Sequence[PeerSeen], horizon: dt.timedelta
) -> None:
    """Keep the peer of each receipt's message (one whose id is not recorded yet is
    skipped: VK names the peer in every callback of the dialog, and the next one keeps it);
    a later message replaces an earlier one, never the other way round."""
    if not seen:
        return
    await conn.execute(
        "INSERT INTO messenger_peers AS p (interface_id, peer, message_id, phone, sender)"
        " SELECT DISTINCT ON (s.iface, s.peer) s.iface, s.peer, m.id, m.destination, m.sender"
        " FROM unnest(%s::text[], %s::text[], %s::text[]) AS s(iface, k, peer)"
        " JOIN operator_ids o ON o.interface_id = s.iface AND o.operator_key = s.k"
        "  AND o.created_at > now() - %s::interval"
        " JOIN messages m ON m.id = o.message_id AND m.created_at = o.message_created_at"
        " ORDER BY s.iface, s.peer, m.id DESC"
        " ON CONFLICT (interface_id, peer) DO UPDATE SET message_id = EXCLUDED.message_id,"
        " phone = EXCLUDED.phone, sender = EXCLUDED.sender, updated_at = now()"
        " WHERE p.message_id < EXCLUDED.message_id",
        (
            [s.interface_id for s in seen],
            [s.operator_key for s in seen],
            [s.peer for s in seen],
            horizon,
        ),
    )


async def find(
    conn: psycopg.AsyncConnection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], Peer]:
    """The known peers among (interface, peer) ``keys``."""
    if not keys:
        return {}
    cur = await conn.execute(
        "SELECT p.interface_id, p.peer, p.message_id, p.phone, p.sender"
        " FROM messenger_peers p JOIN unnest(%s::text[], %s::text[]) AS k(iface, peer)"
        " ON p.interface_id = k.iface AND p.peer = k.peer",
        ([k[0] for k in keys], [k[1] for k in keys]),
    )
    return {
        (i, p): Peer(int(mid), phone, sender) for i, p, mid, phone, sender in await cur.fetchall()
    }
