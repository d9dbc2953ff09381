"""Accepting, reading and listing messages.

Accept is one transaction: message rows + their ACCEPTED status events + queue entries
(+ the partner's client_ref keys and the request_id answer). The id reaches the caller
only after that transaction committed: "stored before acknowledged".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from rcs_core.db import locks
from rcs_core.delivery import cascade_store
from rcs_core.messages.idalloc import IdAllocator
from rcs_core.messages.model import NewMessage
from rcs_core.messages.statuses import Status
from rcs_runtime.errors import Reason

QUEUE_CHANNEL = "rcs_dispatch"
_NO_WINDOW = (None, None, None, None)

# The columns of an accepted batch: parameter name, name in the query, SQL type.
_INPUT_COLUMNS = (
    ("ids", "id", "bigint"),
    ("refs", "ref", "text"),
    ("ch", "ch", "smallint"),
    ("dst", "dst", "text"),
    ("snd", "snd", "text"),
    ("body", "body", "text"),
    ("prio", "prio", "smallint"),
    ("ttl", "ttl", "interval"),
    ("rr", "rr", "smallint"),
    ("tp", "tp", "text"),
    ("tt", "tt", "smallint"),
    ("ml", "ml", "text"),
    ("ptag", "ptag", "text"),
    ("rf", "rf", "smallint"),
    ("ru", "ru", "text"),
    ("sa", "sa", "timestamptz"),
    ("rc", "rc", "smallint"),
    ("wb", "wb", "smallint"),
    ("we", "we", "smallint"),
    ("wd", "wd", "smallint"),
    ("wo", "wo", "smallint"),
    ("fl", "fl", "boolean"),
    ("dc", "dc", "smallint"),
    ("ec", "ec", "smallint"),
    ("push", "push", "bytea"),
    ("cid", "cid", "bigint"),
    ("mlid", "mlid", "bigint"),
)

_CASCADE_ID = [name for name, _, _ in _INPUT_COLUMNS].index("cid")

# What the accept statement does with its input: rows, ACCEPTED events, queue rows, wake-up.
_ACCEPT_TAIL = (
    " m AS (INSERT INTO messages (id, created_at, partner_id, client_ref, channel,"
    " destination, sender, body, priority, valid_until, receipt_request, status,"
    " status_at, trace_parent, traffic_type, mailing, ptag, report_format, report_url,"
    " send_after, receipt_copies, window_begin, window_end, window_days, window_offset,"
    " flash, data_coding, esm_class, push, cascade_id, mailing_id)"
    " SELECT id, now(), %(partner)s, ref, ch, dst, snd, body, prio, now() + ttl, rr,"
    " %(status)s, now(), tp, tt, ml, ptag, rf, ru, sa, rc, wb, we, wd, wo, fl, dc, ec,"
    " push, CASE WHEN cid = 0 THEN id ELSE cid END, mlid"
    " FROM input),"
    " e AS (INSERT INTO status_events (message_id, partner_id, status, created_at)"
    " SELECT id, %(partner)s, %(status)s, now() FROM input),"
    " q AS (INSERT INTO dispatch_queue (message_id, created_at, priority, not_before)"
    " SELECT id, now(), prio, greatest(now(), sa) FROM input)"
    " SELECT pg_notify(%(channel)s, '')"
)


@functools.lru_cache(maxsize=256)
def _accept_sql(uniform: tuple[bool, ...]) -> str:
    """The accept statement where the columns flagged in ``uniform`` are one parameter for
    the whole batch and the others are unnested arrays. Arrays and values go in binary
    (%b): several times cheaper to dump than text."""
    arrays = [c for c, same in zip(_INPUT_COLUMNS, uniform, strict=True) if not same]
    unnest = ", ".join(f"%({name})b::{kind}[]" for name, _, kind in arrays)
    aliases = ", ".join(alias for _, alias, _ in arrays)
    select = ", ".join(
        f"%({name})b::{kind} AS {alias}" if same else f"t.{alias}"
        for (name, alias, kind), same in zip(_INPUT_COLUMNS, uniform, strict=True)
    )
    # Names and types come from _INPUT_COLUMNS only; every value is a parameter.
    head = f"WITH input AS (SELECT {select} FROM unnest({unnest}) AS t({aliases})),"  # noqa: S608
    return head + _ACCEPT_TAIL


@dataclass(slots=True)
class Accepted:
    """message_id 0 with ``refused`` set: not stored (e.g. DUPLICATE_MESSAGE)."""

    message_id: int
    duplicate: bool
    refused: Reason | None = None


@dataclass(frozen=True, slots=True)
class StatusRecord:
    status: Status
    error_code: int
    time: dt.datetime
    detail: str


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: int
    partner: str
    client_ref: str | None
    channel: int
    destination: str
    sender: str
    body: str
    priority: int
    valid_until: dt.datetime
    receipt_request: int
    status: Status
    error_code: int
    created_at: dt.datetime
    part_count: int
    history: list[StatusRecord]
    traffic_type: int | None = None
    mailing: str = ""
    ptag: str | None = None
    send_after: dt.datetime | None = None
    flash: bool = False
    data_coding: int | None = None  # a binary SMS: body is its octets in hex
    esm_class: int | None = None
    push: bytes | None = None
    cascade_id: int | None = None


async def _refuse_refs_in_progress(
    conn: psycopg.AsyncConnection,
    partner_id: int,
    messages: Sequence[NewMessage],
    refs: list[tuple[int, str]],
    results: list[Accepted],
) -> list[tuple[int, str]]:
    """Refuse REQUEST_IN_PROGRESS the messages that ask for it whose client_ref another
    transaction is storing now, or an earlier message of this batch has; returns the refs
    left to store. The lock on a ref is held until this transaction commits, so the first
    request's repeats are refused until its answer is final, and get its id after."""
    busy = await locks.try_lock_all(
        conn,
        locks.LockSpace.CLIENT_REFS,
        (locks.key_of(partner_id, r) for i, r in refs if messages[i].refuse_ref_in_progress),
    )
    left: list[tuple[int, str]] = []
    seen: set[str] = set()
    for i, ref in refs:
        first_here = ref not in seen
        seen.add(ref)
        if messages[i].refuse_ref_in_progress and (
            locks.key_of(partner_id, ref) in busy or not first_here
        ):
            results[i] = Accepted(0, False, Reason.REQUEST_IN_PROGRESS)
        else:
            left.append((i, ref))
    return left


async def accept(
    conn: psycopg.AsyncConnection,
    *,
    ids: IdAllocator,
    partner_id: int,
    messages: Sequence[NewMessage],
    duplicate_window: dt.timedelta | None = None,
    reserved_ids: Sequence[int] | None = None,
) -> list[Accepted]:
    """Store a batch inside the caller's transaction; returns one result per message.

    With ``duplicate_window``, a message whose number and text this partner already sent
    within the window (or earlier in the batch) is refused as DUPLICATE_MESSAGE.
    ``reserved_ids``: ids taken earlier (a concatenated message's first part), one each.
    """
    if not messages:
        return []
    if reserved_ids is not None:
        message_ids = list(reserved_ids)
    else:
        message_ids = await ids.take(conn, len(messages))
    results = [Accepted(mid, False) for mid in message_ids]

    refs = [(i, m.client_ref) for i, m in enumerate(messages) if m.client_ref and not m.cascade_id]
    if any(messages[i].refuse_ref_in_progress for i, _ in refs):
        refs = await _refuse_refs_in_progress(conn, partner_id, messages, refs, results)
    if refs:
        cur = await conn.execute(
            "INSERT INTO client_refs (partner_id, client_ref, message_id)"
            " SELECT %s, r, m FROM unnest(%b::text[], %b::bigint[]) AS t(r, m)"
            " ON CONFLICT DO NOTHING RETURNING client_ref",
            (partner_id, [r for _, r in refs], [message_ids[i] for i, _ in refs]),
        )
        fresh = {row[0] for row in await cur.fetchall()}
        taken = {r for _, r in refs if r not in fresh}
        if taken:
            cur = await conn.execute(
                "SELECT client_ref, message_id FROM client_refs"
                " WHERE partner_id = %s AND client_ref = ANY(%s)",
                (partner_id, list(taken)),
            )
            first = {row[0]: row[1] for row in await cur.fetchall()}
            for i, ref in refs:
                if ref in taken:
                    results[i] = Accepted(first[ref], True)
        # The same client_ref twice in one batch: the first occurrence wins.
        seen: dict[str, int] = {}
        for i, ref in refs:
            if ref in seen and not results[i].duplicate:
                results[i] = Accepted(seen[ref], True)
            seen.setdefault(ref, results[i].message_id)

    if duplicate_window is not None:
        await _refuse_repeated_content(conn, partner_id, messages, results, duplicate_window)
        refused_refs = [
            (m.client_ref, message_ids[i])
            for i, (r, m) in enumerate(zip(results, messages, strict=True))
            if r.refused and m.client_ref
        ]
        if refused_refs:  # a refused message keeps no id: a corrected retry may use the ref
            await conn.execute(
                "DELETE FROM client_refs c USING unnest(%s::text[], %s::bigint[]) AS t(r, m)"
                " WHERE c.partner_id = %s AND c.client_ref = t.r AND c.message_id = t.m",
                ([r for r, _ in refused_refs], [m for _, m in refused_refs], partner_id),
            )
    new = [
        (r.message_id, m)
        for r, m in zip(results, messages, strict=True)
        if not r.duplicate and not r.refused
    ]
    if not new:
        return results
    columns = zip(
        *(
            (
                mid,
                m.client_ref,
                m.channel,
                m.destination,
                m.sender,
                m.body,
                m.priority,
                m.ttl,
                m.receipt_request,
                m.trace_parent,
                m.traffic_type,
                m.mailing,
                m.ptag,
                m.report_format,
                m.report_url,
                m.send_after,
                m.receipt_copies,
                *(m.window or _NO_WINDOW),
                m.flash,
                m.data_coding,
                m.esm_class,
                m.push,
                m.cascade_id,
                m.mailing_id,
            )
            for mid, m in new
        ),
        strict=True,
    )
    params: dict[str, Any] = {
        "partner": partner_id,
        "status": int(Status.ACCEPTED),
        "channel": QUEUE_CHANNEL,
    }
    uniform: list[bool] = []
    for (name, _, _), values in zip(_INPUT_COLUMNS, columns, strict=True):
        # A column with one value for the whole batch (the channel, the validity, the trace,
        # usually the sender) goes as one parameter: psycopg dumps arrays element by element
        # in Python, and that was a fifth of core's CPU for a REST_BATCH packet.
        same = len(values) > 1 and values.count(values[0]) == len(values)
        uniform.append(same)
        params[name] = values[0] if same else list(values)
    # One round trip: message rows, their ACCEPTED events, queue rows and the wake-up.
    await conn.execute(_accept_sql(tuple(uniform)), params)
    if not uniform[_CASCADE_ID] or params["cid"] is not None:
        # Skipped when no message starts a cascade (only a cascade's first message has
        # cascade_links, and cascade_id 0): cascade_id NULL throughout, as the column
        # check above found, spares a loop over every message of every batch.
        for mid, m in new:
            if m.cascade_links:
                await cascade_store.start(conn, mid, partner_id, m.cascade_links, m.wait_for, m.ttl)
    return results


async def _refuse_repeated_content(
    conn: psycopg.AsyncConnection,
    partner_id: int,
    messages: Sequence[NewMessage],
    results: list[Accepted],
    window: dt.timedelta,
) -> None:
    candidates = [i for i, r in enumerate(results) if not r.duplicate and not r.refused]
    if not candidates:
        return
    # Lock each (partner, number, text) so two concurrent calls cannot both pass the check.
    await locks.lock_all(
        conn,
        locks.LockSpace.MESSAGE_CONTENT,
        (f"{partner_id}:{messages[i].destination}:{messages[i].body}" for i in candidates),
    )
    cur = await conn.execute(
        "SELECT DISTINCT t.dst, t.body FROM unnest(%s::text[], %s::text[]) AS t(dst, body)"
        " JOIN messages m ON m.destination = t.dst AND m.body = t.body"
        " AND m.partner_id = %s AND m.created_at > now() - %s",
        (
            [messages[i].destination for i in candidates],
            [messages[i].body for i in candidates],
            partner_id,
            window,
        ),
    )
    seen = {(dst, body) for dst, body in await cur.fetchall()}
    for i in candidates:
        key = (messages[i].destination, messages[i].body)
        if key in seen:
            results[i] = Accepted(0, False, Reason.DUPLICATE_MESSAGE)
        seen.add(key)


_MESSAGE_COLUMNS = (
    "m.id, p.login, m.client_ref, m.channel, m.destination, m.sender, m.body, m.priority,"
    " m.valid_until, m.receipt_request, m.status, m.error_code, m.created_at, m.part_count,"
    " m.traffic_type, m.mailing, m.ptag, m.send_after, coalesce(m.flash, false),"
    " m.data_coding, m.esm_class, m.push, m.cascade_id"
)


def _row_to_message(row: tuple[Any, ...], history: list[StatusRecord]) -> StoredMessage:
    return StoredMessage(
        id=int(row[0]),
        partner=str(row[1]),
        client_ref=row[2] if isinstance(row[2], str) else None,
        channel=int(row[3]),
        destination=str(row[4]),
        sender=str(row[5]),
        body=str(row[6]),
        priority=int(row[7]),
        valid_until=row[8],
        receipt_request=int(row[9]),
        status=Status(row[10]),
        error_code=int(row[11]),
        created_at=row[12],
        part_count=int(row[13]),
        history=history,
        traffic_type=None if row[14] is None else int(row[14]),
        mailing=str(row[15]),
        ptag=row[16],
        send_after=row[17],
        flash=row[18],
        data_coding=row[19],
        esm_class=row[20],
        push=row[21],
        cascade_id=row[22],
    )


async def get(conn: psycopg.AsyncConnection, message_id: int) -> StoredMessage | None:
    cur = await conn.execute(
        f"SELECT {_MESSAGE_COLUMNS} FROM messages m JOIN partners p ON p.id = m.partner_id"  # noqa: S608 (constant columns)
        " WHERE m.id = %s",
        (message_id,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    cur = await conn.execute(
        "SELECT status, error_code, created_at, detail FROM status_events"
        " WHERE message_id = %s ORDER BY created_at, event_id",
        (message_id,),
    )
    history = [StatusRecord(Status(s), e, t, d) for s, e, t, d in await cur.fetchall()]
    found = _row_to_message(row, history)
    if found.cascade_id == found.id:
        return await _cascade_view(conn, found)
    return found


async def _cascade_view(conn: psycopg.AsyncConnection, first: StoredMessage) -> StoredMessage:
    """A cascade as its partner pulls it by the id it was given: the running (or last)
    link's type, status and codes, and every link's history, oldest first."""
    cur = await conn.execute(
        f"SELECT {_MESSAGE_COLUMNS} FROM messages m JOIN partners p ON p.id = m.partner_id"  # noqa: S608 (constant columns)
        " JOIN cascades c ON c.current_id = m.id AND c.current_created = m.created_at"
        " WHERE c.id = %s",
        (first.id,),
    )
    row = await cur.fetchone()
    if row is None or int(row[0]) == first.id:
        return first
    cur = await conn.execute(
        # Link by link (a link's ACCEPTED carries its transaction's start, which may come
        # before the previous link's last event of the same transaction).
        "SELECT e.status, e.error_code, e.created_at, e.detail FROM status_events e"
        " JOIN messages m ON m.id = e.message_id AND m.cascade_id = %s"
        " ORDER BY m.created_at, m.id, e.created_at, e.event_id",
        (first.id,),
    )
    history = [StatusRecord(Status(s), e, t, d) for s, e, t, d in await cur.fetchall()]
    last = _row_to_message(row, history)
    return dataclasses.replace(last, id=first.id, created_at=first.created_at)


async def list_for_partner(
    conn: psycopg.AsyncConnection, partner_id: int, *, before_id: int | None, limit: int
) -> list[StoredMessage]:
    cur = await conn.execute(
        f"SELECT {_MESSAGE_COLUMNS} FROM messages m JOIN partners p ON p.id = m.partner_id"  # noqa: S608 (constant columns)
        " WHERE m.partner_id = %s AND (%s::bigint IS NULL OR m.id < %s)"
        " ORDER BY m.id DESC LIMIT %s",
        (partner_id, before_id, before_id, limit),
    )
    return [_row_to_message(row, []) for row in await cur.fetchall()]
