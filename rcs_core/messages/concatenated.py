"""Messages partners split themselves (SMPP UDH / SAR), accepted part by part.

The first part to arrive checks the message's fields and reserves its id in
``pending_submissions``; every part is stored and answered with that id at once, so an
ESME that waits for each submit_sm_resp before the next part is never stuck, and no part
is acknowledged before it is stored. The last part accepts the whole message in the same
transaction (the normal accept path, with the reserved id). Parts that stop coming are
given up after a timeout: the message is stored REJECTED with what arrived, so its id
reaches a final status and the partner gets the report it asked for.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import psycopg

from rcs.common.v1 import message_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs_core.auth import partners_store as partners
from rcs_core.db import locks
from rcs_core.delivery.finalize import finalize
from rcs_core.messages import store as messages
from rcs_core.messages.idalloc import IdAllocator
from rcs_core.messages.model import NewMessage
from rcs_core.messages.statuses import ExtendedError, Status
from rcs_core.messages.validation import MAX_TEXT_CHARS, submission_of, validate
from rcs_runtime.errors import RcsError, Reason
from rcs_smpp.encoding import decode_text
from rcs_smpp.errors import TextDecodeError

log = logging.getLogger(__name__)
PLACEHOLDER = "-"  # stands in for the text while only the fields are checked


def _message(
    partner: partners.Partner, first: ms.MessageSubmission, text: str, trace_parent: str
) -> NewMessage:
    sub = dataclasses.replace(submission_of(first), text=text)
    return validate(
        sub,
        default_sender=partner.default_sender,
        default_ttl=dt.timedelta(seconds=partner.default_ttl_seconds),
        trace_parent=trace_parent,
        owned_senders=partner.owned_senders,
        grants=partner.channels,
    )


_RECEIPT_RANK = {
    message_pb2.RECEIPT_REQUEST_NONE: 0,
    message_pb2.RECEIPT_REQUEST_FAILURES: 1,
    message_pb2.RECEIPT_REQUEST_ALL: 2,
    message_pb2.RECEIPT_REQUEST_UNSPECIFIED: 2,  # core's default: every final status
}


def _merged(kept: ms.MessageSubmission, part: ms.MessageSubmission) -> ms.MessageSubmission:
    """The message's fields after one more part. ESMEs (Kannel among them) ask for a
    receipt on one part only, and parts may reach core in any order: the widest receipt
    request and the first ptag given win."""
    out = ms.MessageSubmission()
    out.CopyFrom(kept)
    if _RECEIPT_RANK[part.receipt_request] > _RECEIPT_RANK[kept.receipt_request]:
        out.receipt_request = part.receipt_request
    if not out.ptag and part.ptag:
        out.ptag = part.ptag
    return out


def receipt_copies(parts_that_asked: int) -> int | None:
    """What a joined message stores as its receipt count: Rapporto sends one deliver_sm per
    submit_sm, so each part that asked gets its own (None: the usual one)."""
    return parts_that_asked if parts_that_asked > 1 else None


def _refused(err: RcsError) -> ms.SubmitPartResponse:
    return ms.SubmitPartResponse(
        result=ms.SubmitResult(
            error=ms.SubmitError(reason=err.reason, message=err.message, field=err.field)
        )
    )


async def submit_part(
    conn: psycopg.AsyncConnection,
    ids: IdAllocator,
    partner: partners.Partner,
    request: ms.SubmitPartRequest,
    trace_parent: str,
) -> ms.SubmitPartResponse:
    """One part, inside the caller's transaction."""
    if not 2 <= request.part_total <= 255 or not 1 <= request.part_number <= request.part_total:
        return _refused(
            RcsError(Reason.INVALID_REQUEST, "part_number must be 1 to part_total ≤ 255")
        )
    first = request.submission
    key = (
        partner.id,
        first.sms.sender,
        first.destination,
        request.reference,
        request.part_total,
    )
    # Parts of one message may arrive at once on several sessions: one at a time.
    await locks.lock(conn, locks.LockSpace.SUBMIT_PARTS, *key)
    cur = await conn.execute(
        "SELECT message_id, submission FROM pending_submissions WHERE partner_id = %s"
        " AND source = %s AND destination = %s AND reference = %s AND part_total = %s"
        " FOR UPDATE",  # waits for a give-up in progress; then the row is gone
        key,
    )
    row = await cur.fetchone()
    if row is None:
        try:  # the fields now, so a bad number is refused before an id is handed out
            _message(partner, first, PLACEHOLDER, trace_parent)
        except RcsError as err:
            return _refused(err)
        (message_id,) = await ids.take(conn, 1)
        stored = first.SerializeToString()
        await conn.execute(
            "INSERT INTO pending_submissions (partner_id, source, destination, reference,"
            " part_total, message_id, submission) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (*key, message_id, stored),
        )
    else:
        message_id, stored = int(row[0]), bytes(row[1])
        merged = _merged(ms.MessageSubmission.FromString(stored), first).SerializeToString()
        if merged != stored:
            stored = merged
            await conn.execute(
                "UPDATE pending_submissions SET submission = %s WHERE message_id = %s",
                (stored, message_id),
            )
    await conn.execute(
        "INSERT INTO submit_parts (message_id, part_number, data_coding, payload, receipt_wanted)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (message_id, part_number)"
        " DO UPDATE SET data_coding = EXCLUDED.data_coding, payload = EXCLUDED.payload,"
        " receipt_wanted = EXCLUDED.receipt_wanted",
        (
            message_id,
            request.part_number,
            request.data_coding,
            request.payload,
            _RECEIPT_RANK[first.receipt_request] > 0,
        ),
    )
    cur = await conn.execute(
        "SELECT count(*) FROM submit_parts WHERE message_id = %s", (message_id,)
    )
    counted = await cur.fetchone()
    complete = counted is not None and int(counted[0]) == request.part_total
    if complete:
        await _complete(
            conn, ids, partner, message_id, ms.MessageSubmission.FromString(stored), trace_parent
        )
    return ms.SubmitPartResponse(
        result=ms.SubmitResult(message_id=str(message_id)), complete=complete
    )


async def _joined(conn: psycopg.AsyncConnection, message_id: int) -> tuple[str, bool, int]:
    """The text of the parts stored (in order), whether it could be decoded, and how many
    of the parts asked for a receipt."""
    cur = await conn.execute(
        "SELECT data_coding, payload, receipt_wanted FROM submit_parts WHERE message_id = %s"
        " ORDER BY part_number",
        (message_id,),
    )
    rows = await cur.fetchall()
    if not rows:
        return "", False, 0
    wanted = sum(1 for r in rows if r[2])
    try:
        return decode_text(int(rows[0][0]), b"".join(bytes(r[1]) for r in rows)), True, wanted
    except TextDecodeError:
        return "", False, wanted


async def _complete(
    conn: psycopg.AsyncConnection,
    ids: IdAllocator,
    partner: partners.Partner,
    message_id: int,
    first: ms.MessageSubmission,
    trace_parent: str,
) -> None:
    text, decoded, receipts_wanted = await _joined(conn, message_id)
    await _forget(conn, message_id)

    async def reject(detail: str, code: ExtendedError = ExtendedError.UNKNOWN) -> None:
        await _store_rejected(
            conn,
            ids,
            partner,
            message_id,
            first,
            text,
            detail,
            trace_parent,
            code=code,
            copies=receipts_wanted,
        )

    if not decoded:
        await reject("undecodable_text")
        return
    try:
        message = _message(partner, first, text, trace_parent)
        message.receipt_copies = receipt_copies(receipts_wanted)
    except RcsError as err:  # e.g. longer than allowed once joined
        log.info("concatenated_refused", extra={"reason": err.reason})
        await reject(err.reason.lower())
        return
    window = (
        dt.timedelta(seconds=partner.duplicate_window_seconds) if partner.block_duplicates else None
    )
    (accepted,) = await messages.accept(
        conn,
        ids=ids,
        partner_id=partner.id,
        messages=[message],
        duplicate_window=window,
        reserved_ids=[message_id],
    )
    if accepted.refused:  # the id is out already: store it, and say why it goes no further
        await reject("duplicate", ExtendedError.DUPLICATED)


async def _store_rejected(
    conn: psycopg.AsyncConnection,
    ids: IdAllocator,
    partner: partners.Partner,
    message_id: int,
    first: ms.MessageSubmission,
    text: str,
    detail: str,
    trace_parent: str,
    *,
    code: ExtendedError = ExtendedError.UNKNOWN,
    copies: int = 0,
) -> None:
    """``copies``: the parts that asked for a receipt (Rapporto: one each)."""
    body = text[:MAX_TEXT_CHARS] or PLACEHOLDER
    try:
        message = dataclasses.replace(
            _message(partner, first, PLACEHOLDER, trace_parent), body=body
        )
    except RcsError:  # fields that passed at the first part no longer do: keep them as given
        message = NewMessage(
            client_ref=None,
            channel=1,
            destination=first.destination,
            sender=first.sms.sender or partner.default_sender or PLACEHOLDER,
            body=body,
            priority=0,
            ttl=dt.timedelta(days=1),
            receipt_request=int(first.receipt_request) or 2,
            trace_parent=trace_parent,
            ptag=first.ptag or None,
            report_format=int(first.report_format),
        )
    message.receipt_copies = receipt_copies(copies)
    await messages.accept(
        conn, ids=ids, partner_id=partner.id, messages=[message], reserved_ids=[message_id]
    )
    await finalize(conn, [(message_id, Status.REJECTED, int(code), detail)])
    await conn.execute("DELETE FROM dispatch_queue WHERE message_id = %s", (message_id,))


async def _forget(conn: psycopg.AsyncConnection, message_id: int) -> None:
    await conn.execute("DELETE FROM submit_parts WHERE message_id = %s", (message_id,))
    await conn.execute("DELETE FROM pending_submissions WHERE message_id = %s", (message_id,))


async def give_up_overdue(
    conn: psycopg.AsyncConnection, ids: IdAllocator, older_than: dt.timedelta
) -> int:
    """Store as REJECTED the messages whose parts stopped coming; returns how many."""
    cur = await conn.execute(
        "SELECT p.message_id, p.submission, q.login FROM pending_submissions p"
        " JOIN partners q ON q.id = p.partner_id"
        " WHERE p.created_at < now() - %s ORDER BY p.created_at LIMIT 1000"
        " FOR UPDATE OF p SKIP LOCKED",
        (older_than,),
    )
    overdue = await cur.fetchall()
    for message_id, stored, login in overdue:
        partner = await partners.by_login(conn, login)
        assert partner is not None  # joined above, in this transaction
        text, _, receipts_wanted = await _joined(conn, int(message_id))
        await _forget(conn, int(message_id))
        await _store_rejected(
            conn,
            ids,
            partner,
            int(message_id),
            ms.MessageSubmission.FromString(bytes(stored)),
            text,
            "parts_missing",
            "",
            copies=receipts_wanted,
        )
    if overdue:
        log.warning("concatenated_parts_missing", extra={"count": len(overdue)})
    return len(overdue)
