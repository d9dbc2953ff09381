"""Inbound (MO) messages: parts joined, whole messages routed to the partner owning the
number (and keyword), or to the route of the subscriber's SMS session on the number, and
owed to it as reports (report_outbox kind 2).

All in the caller's transaction: a part is stored, or the message it completes is stored,
routed, its session opened, extended or closed, the platform's answer to that accepted and
its report made, before the connector acknowledges the operator's deliver_sm.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import psycopg
from psycopg.types.json import Jsonb

from rcs_core.db import locks
from rcs_core.inbound import originals, peers
from rcs_core.inbound import reply as inbound_reply
from rcs_core.inbound import sessions_store as inbound_sessions
from rcs_core.messages.idalloc import IdAllocator
from rcs_core.reports import store as reports
from rcs_smpp.encoding import decode_text
from rcs_smpp.errors import TextDecodeError

log = logging.getLogger(__name__)
FORMAT_SMPP = 1
SMS = 1  # rcs.common.v1.Channel
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
    # A messenger's reply (issue 17): its channel, media link and the message it answers.
    channel: int = SMS
    media_url: str = ""
    reply_to_message_id: str = ""
    reply_to_operator_id: str = ""
    peer: str = ""  # the subscriber by the provider's id (VK), when it gives no number


@dataclass(frozen=True, slots=True)
class Whole:
    interface_id: str
    source: str
    destination: str
    text: str
    part_count: int
    received_at: dt.datetime
    channel: int = SMS
    media_url: str = ""
    reply_to_message_id: str = ""
    reply_to_operator_id: str = ""
    original: originals.Original | None = None


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
    # SMS sessions (http_mo.rst): '' / 0 when the route has none.
    session_keyword: str = ""
    session_close_keyword: str = ""
    session_seconds: int = 0
    session_open_text: str = ""
    session_close_text: str = ""
    session_expired_text: str = ""

    def takes(self, text: str) -> bool:
        if not self.keyword:
            return True
        return keyword_pattern(self.keyword).match(text) is not None

    def opens(self, text: str) -> bool:
        return bool(self.session_keyword) and _starts(self.session_keyword, text)

    def closes(self, text: str) -> bool:
        return bool(self.session_close_keyword) and _starts(self.session_close_keyword, text)


def _starts(keyword: str, text: str) -> bool:
    return keyword_pattern(keyword).match(text) is not None


class Step(Enum):
    """What a message does to the subscriber's session on the number."""

    NONE = "none"  # routed by keyword; no session involved
    OPENED = "opened"  # opened a session on its route; goes to the partner
    IN_SESSION = "in_session"  # went to the session's route and extended the session
    CLOSED = "closed"  # closed the session: answered by the platform, not passed on


@dataclass(frozen=True, slots=True)
class Decision:
    route: Route | None
    step: Step = Step.NONE

    @property
    def forwarded(self) -> bool:
        return self.route is not None and self.step is not Step.CLOSED


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


def _name(route: Route) -> str:
    return route.name


def session_key(destination: str, source: str) -> inbound_sessions.Key:
    return number_key(destination), number_key(source)


def decide(
    routes: Sequence[Route],
    sessions: dict[inbound_sessions.Key, Route],
    destination: str,
    source: str,
    text: str,
) -> Decision:
    """Where a message goes (http_mo.rst): into the subscriber's live session on the number
    (its close keyword ends it), else to a route whose session keyword it starts with (the
    first by name; a session opens), else by keyword. ``sessions`` (the live ones, by
    key) is updated, so that the next message of a batch sees what this one did."""
    key = session_key(destination, source)
    session = sessions.get(key)
    if session is not None:
        if session.closes(text):
            del sessions[key]
            return Decision(session, Step.CLOSED)
        return Decision(session, Step.IN_SESSION)
    openers = sorted((r for r in routes if r.number == key[0] and r.session_keyword), key=_name)
    for route in openers:
        if route.opens(text):
            sessions[key] = route
            return Decision(route, Step.OPENED)
    return Decision(choose(routes, destination, text))


async def record(
    conn: psycopg.AsyncConnection, ids: IdAllocator, parts: Sequence[PartIn]
) -> list[Recorded]:
    now = dt.datetime.now(dt.UTC)
    results: list[Recorded | None] = []
    wholes: list[tuple[int, Whole]] = []
    for i, part in enumerate(await _with_peers(conn, parts)):
        if part is None:
            results.append(Recorded(None))
            continue
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


async def _with_peers(
    conn: psycopg.AsyncConnection, parts: Sequence[PartIn]
) -> list[PartIn | None]:
    """Each part that names its subscriber only by the provider's id (VK) with the number,
    sender and last message of that peer (rcs_core.inbound.peers); None for a peer we
    never wrote to, which no partner owns."""
    named = [(p.interface_id, p.peer) for p in parts if p.peer and not p.source]
    if not named:
        return list(parts)
    known = await peers.find(conn, named)
    out: list[PartIn | None] = []
    for p in parts:
        if not p.peer or p.source:
            out.append(p)
            continue
        peer = known.get((p.interface_id, p.peer))
        if peer is None:
            log.warning("inbound_unknown_peer", extra={"interface": p.interface_id, "peer": p.peer})
            out.append(None)
            continue
        quoted = p.reply_to_message_id or p.reply_to_operator_id
        out.append(
            dataclasses.replace(
                p,
                source=peer.phone,
                destination=p.destination or peer.sender,
                reply_to_message_id=p.reply_to_message_id
                or ("" if quoted else str(peer.message_id)),
            )
        )
    return out


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
            part.channel or SMS,
            part.media_url,
            part.reply_to_message_id,
            part.reply_to_operator_id,
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
        " r.unavailable_text, r.timeout_seconds, r.session_keyword, r.session_close_keyword,"
        " r.session_seconds, r.session_open_text, r.session_close_text, r.session_expired_text"
        " FROM inbound_routes r JOIN partners p ON p.login = r.partner"
        " WHERE r.number = ANY(%s)",
        (numbers,),
    )
    return [Route(*row) for row in await cur.fetchall()]


async def _live_sessions(
    conn: psycopg.AsyncConnection,
    ids: IdAllocator,
    routes: Sequence[Route],
    wholes: Sequence[Whole],
) -> dict[inbound_sessions.Key, Route]:
    """The live sessions of the batch's subscribers, locked for this transaction; looked
    up only on numbers with a session route, so other MO pay nothing for sessions. A
    session whose route was deleted, moved to another number or lost its session keyword
    is ignored (maintenance drops it, without a text, when it expires). An expired one
    maintenance has not ended yet ends here, with its text, before the new message."""
    numbers = {r.number for r in routes if r.session_keyword}
    keys = [session_key(w.destination, w.source) for w in wholes]
    keys = [k for k in keys if k[0] in numbers]
    if not keys:
        return {}
    by_name = {r.name: r for r in routes}
    live_names = await inbound_sessions.lock_live(conn, keys)
    await _tell_expired(conn, ids, by_name, await inbound_sessions.end_expired_of(conn, keys))
    live: dict[inbound_sessions.Key, Route] = {}
    for key, name in live_names.items():
        route = _holding(by_name, key[0], name)
        if route is not None:
            live[key] = route
    return live


def _holding(by_name: dict[str, Route], number: str, name: str) -> Route | None:
    """The route of a session on ``number``, while that route still holds sessions there."""
    route = by_name.get(name)
    if route is None or route.number != number or not route.session_keyword:
        return None
    return route


async def _keep_session(
    conn: psycopg.AsyncConnection, ids: IdAllocator, mid: int, whole: Whole, d: Decision
) -> None:
    """Write what the message did to its session and answer an opening or a closing with
    the route's text, accepted here so that it is sent once, with the MO (its client_ref
    is made from the MO's id)."""
    route = d.route
    if route is None or d.step is Step.NONE:
        return
    key = session_key(whole.destination, whole.source)
    if d.step is Step.IN_SESSION:
        await inbound_sessions.extend(conn, key, route.session_seconds, mid)
        return
    if d.step is Step.OPENED:
        await inbound_sessions.open_session(conn, key, route.name, route.session_seconds, mid)
        text, tag = route.session_open_text, "session-open"
    else:
        await inbound_sessions.close(conn, key)
        text, tag = route.session_close_text, "session-close"
    log.info("inbound_session", extra={"step": d.step.value, "route": route.name, "mo_id": mid})
    if text:
        await inbound_reply.accept_replies(
            conn,
            ids,
            login=route.login,
            message_id=mid,
            subscriber=whole.source,
            number=whole.destination,
            texts=[text],
            tag=tag,
        )


async def _with_originals(conn: psycopg.AsyncConnection, wholes: list[Whole]) -> list[Whole]:
    """Each reply with the message it answers, when the provider named one we sent; a reply
    without the number it was written to goes to that message's sender."""
    by_id = [w.reply_to_message_id for w in wholes if w.reply_to_message_id]
    by_op = [(w.interface_id, w.reply_to_operator_id) for w in wholes if w.reply_to_operator_id]
    if not by_id and not by_op:
        return wholes
    named, quoted = await originals.find(conn, by_id, by_op)
    out = []
    for w in wholes:
        found = named.get(w.reply_to_message_id) or quoted.get(
            (w.interface_id, w.reply_to_operator_id)
        )
        if found is not None:
            w = dataclasses.replace(w, original=found, destination=w.destination or found.sender)
        out.append(w)
    return out


def _answered(whole: Whole, d: Decision) -> originals.Original | None:
    """The message a reply answers, when it is the routed partner's own."""
    o = whole.original
    if o is None or d.route is None or d.route.partner_id != o.partner_id:
        return None
    return o


async def _store(
    conn: psycopg.AsyncConnection, ids: IdAllocator, wholes: list[Whole]
) -> list[Recorded]:
    wholes = await _with_originals(conn, wholes)
    routes = await _routes(conn, sorted({number_key(w.destination) for w in wholes}))
    sessions = await _live_sessions(conn, ids, routes, wholes)
    decided = [decide(routes, sessions, w.destination, w.source, w.text) for w in wholes]
    message_ids = await ids.take(conn, len(wholes))
    await conn.execute(
        "INSERT INTO inbound_messages (id, received_at, interface_id, source, destination,"
        " body, part_count, partner_id, route, channel, media_url, reply_to)"
        " SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[], %s::text[],"
        " %s::text[], %s::text[], %s::int[], %s::bigint[], %s::text[], %s::smallint[],"
        " %s::text[], %s::bigint[])",
        (
            message_ids,
            [w.received_at for w in wholes],
            [w.interface_id for w in wholes],
            [w.source for w in wholes],
            [w.destination for w in wholes],
            [w.text for w in wholes],
            [w.part_count for w in wholes],
            [d.route.partner_id if d.route else None for d in decided],
            [d.route.name if d.route else None for d in decided],
            [w.channel for w in wholes],
            [w.media_url or None for w in wholes],
            [_reply_to(w, d) for w, d in zip(wholes, decided, strict=True)],
        ),
    )
    owed = []
    for mid, whole, d in zip(message_ids, wholes, decided, strict=True):
        await _keep_session(conn, ids, mid, whole, d)
        route = d.route
        if route is None:
            log.warning("inbound_unrouted", extra={"destination": whole.destination})
            continue
        if not d.forwarded:  # the close command is the platform's, not the partner's
            continue
        if route.format != FORMAT_SMPP and not route.inbound_url:
            log.warning("inbound_no_url", extra={"partner": route.login, "route": route.name})
            continue
        owed.append((route, mid, whole, d))
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
                        Jsonb(_report_body(route, whole, d)),
                    )
                    for route, mid, whole, d in owed
                ],
            )
        await reports.wake(conn)
    return [
        Recorded(mid, d.route.login if d.route else "")
        for mid, d in zip(message_ids, decided, strict=True)
    ]


def _reply_to(whole: Whole, d: Decision) -> int | None:
    o = _answered(whole, d)
    return o.message_id if o is not None else None


def _report_body(route: Route, whole: Whole, d: Decision) -> dict[str, object]:
    body: dict[str, object] = {
        "sender": whole.source,
        "destination": whole.destination,
        "text": whole.text,
        "part_count": whole.part_count,
        "submit_time": whole.received_at.isoformat(),
        "done_time": whole.received_at.isoformat(),
        "channel": whole.channel,
        "interface_id": whole.interface_id,
        "unavailable_text": route.unavailable_text,
        "timeout_seconds": route.timeout_seconds,
    }
    if whole.media_url:
        body["media_url"] = whole.media_url
    o = _answered(whole, d)
    if o is not None:
        body["reply_to"] = str(o.message_id)
        if o.client_ref:
            body["reply_to_ref"] = o.client_ref
    return body


async def end_expired_sessions(conn: psycopg.AsyncConnection, ids: IdAllocator, limit: int) -> int:
    """End up to ``limit`` expired sessions and send each subscriber its route's expired
    text (http_mo.rst), in the caller's transaction: the text is accepted if and only if
    its session is gone, so a maintainer that dies halfway neither loses it nor sends it
    twice. Returns how many ended."""
    ended = await inbound_sessions.end_expired(conn, limit)
    if not ended:
        return 0
    by_name = {r.name: r for r in await _routes(conn, sorted({e.number for e in ended}))}
    await _tell_expired(conn, ids, by_name, ended)
    log.info("inbound_sessions_expired", extra={"count": len(ended)})
    return len(ended)


async def _tell_expired(
    conn: psycopg.AsyncConnection,
    ids: IdAllocator,
    by_name: dict[str, Route],
    ended: Sequence[inbound_sessions.Ended],
) -> None:
    """Accept each ended session's expired text, while its route still holds sessions."""
    for e in ended:
        route = _holding(by_name, e.number, e.route)
        if route is None or not route.session_expired_text:
            continue
        await inbound_reply.accept_replies(
            conn,
            ids,
            login=route.login,
            message_id=e.last_message_id,
            subscriber=e.subscriber,
            number=e.number,
            texts=[route.session_expired_text],
            tag="session-expired",
        )
