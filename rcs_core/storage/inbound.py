"""Inbound (MO) messages: parts joined, whole messages routed to the partner owning the
number (and keyword), and owed to it as reports (report_outbox kind 2).

All in the caller's transaction: a part is stored, or the message it completes is stored,
routed and its report made, before the connector acknowledges the operator's deliver_sm.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from psycopg.types.json import Jsonb

from rcs_core.idalloc import IdAllocator
from rcs_core.storage import locks, reports
from rcs_smpp.encoding import decode_text
from rcs_smpp.errors import TextDecodeError

log = logging.getLogger(__name__)
FORMAT_SMPP = 1
# A keyword matches at the start of the text, after any blanks, in any case.
KEYWORD_PREFIX = r"\s*(?:"


def keyword_pattern(keyword: str) -> re.Pattern[str]:
    """The pattern a route's keyword is matched with; re.error when it does not compile
    (the settings API refuses those, so routing never meets one it wrote)."""
    return re.compile(f"{KEYWORD_PREFIX}{keyword})", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class PartIn:
    interface_id: str
    source: str
    destination: str
    data_coding: int
    payload: bytes
    reference: int = 0
    part_number: int = 0
    part_total: int = 0
    received_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Whole:
    interface_id: str
    source: str
    destination: str
    text: str
    part_count: int
    received_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    number: str
    keyword: str
    partner_id: int
    login: str
    format: int
    inbound_url: str
    unavailable_text: str = ""  # sent to the subscriber when the partner does not take it
    timeout_seconds: int = 0  # the partner's time to answer; 0: the report sender's

    def takes(self, text: str) -> bool:
        if not self.keyword:
            return True
        return keyword_pattern(self.keyword).match(text) is not None


@dataclass(frozen=True, slots=True)
class Recorded:
    message_id: int | None  # None: a part waiting for its siblings
    partner: str = ""


def number_key(value: str) -> str:
    """Numbers match without their '+'; service names as written."""
    return value.strip().removeprefix("+")


def text_of(data_coding: int, payload: bytes) -> str:
    """The text of a whole MO message; undecodable (binary) data is kept as hex."""
    try:
        return decode_text(data_coding, payload)
    except TextDecodeError:
        return payload.hex()


def choose(routes: Sequence[Route], destination: str, text: str) -> Route | None:
    """The route of a message: a keyword route that matches before the number's catch-all."""
    mine = [r for r in routes if r.number == number_key(destination)]
    for route in sorted(mine, key=lambda r: (r.keyword == "", r.name)):
        if route.takes(text):
            return route
    return None


async def record(
    conn: psycopg.AsyncConnection, ids: IdAllocator, parts: Sequence[PartIn]
) -> list[Recorded]:
    now = dt.datetime.now(dt.UTC)
    results: list[Recorded | None] = []
    wholes: list[tuple[int, Whole]] = []
    for i, part in enumerate(parts):
        whole = await _join(conn, part, now)
        if whole is None:
            results.append(Recorded(None))
        else:
            results.append(None)
            wholes.append((i, whole))
    if wholes:
        for (i, _), outcome in zip(
            wholes, await _store(conn, ids, [w for _, w in wholes]), strict=True
        ):
            results[i] = outcome
    return [r if r is not None else Recorded(None) for r in results]


async def _join(conn: psycopg.AsyncConnection, part: PartIn, now: dt.datetime) -> Whole | None:
    received = part.received_at or now
    if part.part_total <= 1:
        return Whole(
            part.interface_id,
            part.source,
            part.destination,
            text_of(part.data_coding, part.payload),
            1,
            received,
        )
    key = (part.interface_id, part.source, part.destination, part.reference, part.part_total)
    # Siblings may arrive at once on several binds: one transaction joins them.
    await locks.lock(conn, locks.LockSpace.INBOUND_PARTS, *key)
    await conn.execute(
        "INSERT INTO inbound_parts (interface_id, source, destination, reference, part_total,"
        " part_number, data_coding, payload, received_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (interface_id, source, destination, reference, part_total, part_number)"
        " DO UPDATE SET payload = EXCLUDED.payload, data_coding = EXCLUDED.data_coding",
        (*key, part.part_number, part.data_coding, part.payload, received),
    )
    cur = await conn.execute(
        "SELECT part_number, data_coding, payload, received_at FROM inbound_parts"
        " WHERE interface_id = %s AND source = %s AND destination = %s AND reference = %s"
        " AND part_total = %s ORDER BY part_number",
        key,
    )
    rows = await cur.fetchall()
    if {int(r[0]) for r in rows} != set(range(1, part.part_total + 1)):
        return None
    await conn.execute(
        "DELETE FROM inbound_parts WHERE interface_id = %s AND source = %s"
        " AND destination = %s AND reference = %s AND part_total = %s",
        key,
    )
    payload = b"".join(bytes(r[2]) for r in rows)
    return Whole(
        part.interface_id,
        part.source,
        part.destination,
        text_of(int(rows[0][1]), payload),
        part.part_total,
        min(r[3] for r in rows),
    )


async def _routes(conn: psycopg.AsyncConnection, numbers: list[str]) -> list[Route]:
    cur = await conn.execute(
        "SELECT r.name, r.number, r.keyword, p.id, p.login, r.format, p.inbound_url,"
        " r.unavailable_text, r.timeout_seconds"
        " FROM inbound_routes r JOIN partners p ON p.login = r.partner"
        " WHERE r.number = ANY(%s)",
        (numbers,),
    )
    return [Route(*row) for row in await cur.fetchall()]


async def _store(
    conn: psycopg.AsyncConnection, ids: IdAllocator, wholes: list[Whole]
) -> list[Recorded]:
    routes = await _routes(conn, sorted({number_key(w.destination) for w in wholes}))
    chosen = [choose(routes, w.destination, w.text) for w in wholes]
    message_ids = await ids.take(conn, len(wholes))
    await conn.execute(
        "INSERT INTO inbound_messages (id, received_at, interface_id, source, destination,"
        " body, part_count, partner_id, route)"
        " SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[], %s::text[],"
        " %s::text[], %s::text[], %s::int[], %s::bigint[], %s::text[])",
        (
            message_ids,
            [w.received_at for w in wholes],
            [w.interface_id for w in wholes],
            [w.source for w in wholes],
            [w.destination for w in wholes],
            [w.text for w in wholes],
            [w.part_count for w in wholes],
            [r.partner_id if r else None for r in chosen],
            [r.name if r else None for r in chosen],
        ),
    )
    owed = []
    for mid, whole, route in zip(message_ids, wholes, chosen, strict=True):
        if route is None:
            log.warning("inbound_unrouted", extra={"destination": whole.destination})
            continue
        if route.format != FORMAT_SMPP and not route.inbound_url:
            log.warning("inbound_no_url", extra={"partner": route.login, "route": route.name})
            continue
        owed.append((route, mid, whole))
    if owed:
        async with conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO report_outbox (partner_id, format, kind, url, message_id, body)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                [
                    (
                        route.partner_id,
                        route.format,
                        reports.KIND_INBOUND,
                        "" if route.format == FORMAT_SMPP else route.inbound_url,
                        mid,
                        Jsonb(
                            {
                                "sender": whole.source,
                                "destination": whole.destination,
                                "text": whole.text,
                                "part_count": whole.part_count,
                                "submit_time": whole.received_at.isoformat(),
                                "done_time": whole.received_at.isoformat(),
                                "channel": 1,
                                "interface_id": whole.interface_id,
                                "unavailable_text": route.unavailable_text,
                                "timeout_seconds": route.timeout_seconds,
                            }
                        ),
                    )
                    for route, mid, whole in owed
                ],
            )
        await reports.wake(conn)
    return [
        Recorded(mid, route.login if route else "")
        for mid, route in zip(message_ids, chosen, strict=True)
    ]
