"""gRPC edge of mailings: rcs.core.v1.MailingService."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
from psycopg_pool import AsyncConnectionPool

from rcs.core.v1 import mailing_service_pb2 as ms
from rcs.core.v1 import mailing_service_pb2_grpc
from rcs_core.auth import partners_store as partners
from rcs_core.mailings import domain, store
from rcs_core.mailings.domain import Action, State
from rcs_core.messages import ids
from rcs_core.messages.numbers import normalize_msisdn
from rcs_runtime.errors import RcsError, Reason
from rcs_runtime.timestamps import timestamp

log = logging.getLogger(__name__)
Ctx = grpc.aio.ServicerContext[Any, Any]
MAX_BATCH = 10_000
STREAM_PAGE = 5000


def _spec_of(m: store.MailingRow) -> ms.MailingSpec:
    begin, end = m.window or (0, 0)
    return ms.MailingSpec(
        partner=m.partner,
        name=m.name,
        source_key=m.source_key or "",
        sender=m.sender,
        text=m.text,
        auto_start=m.auto_start,
        start_time=timestamp(m.start_at),
        end_time=timestamp(m.end_at),
        window_begin_minute=begin,
        window_end_minute=end,
        window_subscriber_zone=m.window_subscriber_zone,
        priority=m.priority,
        rate_per_second=m.rate_per_second,
    )


def to_proto(m: store.MailingRow, p: store.Progress) -> ms.Mailing:
    return ms.Mailing(
        id=str(m.id),
        spec=_spec_of(m),
        state=int(m.state),  # type: ignore[arg-type]
        progress=ms.MailingProgress(
            total=p.total,
            accepted=p.accepted,
            sent=p.sent,
            delivered=p.delivered,
            undelivered=p.undelivered,
            blocked=p.blocked,
        ),
        create_time=timestamp(m.created_at),
        end_time=timestamp(m.ended_at),
    )


def _refusals(refused: list[store.Refusal]) -> list[ms.RecipientRefusal]:
    return [
        ms.RecipientRefusal(line=r.line, destination=r.destination, reason=r.reason)
        for r in refused
    ]


class MailingServicer(mailing_service_pb2_grpc.MailingServiceServicer):
    def __init__(self, pool: AsyncConnectionPool, *, default_rate: int = 100) -> None:
        self._pool = pool
        self._default_rate = default_rate

    async def CreateMailing(
        self, request_iterator: AsyncIterator[ms.CreateMailingRequest], context: Ctx
    ) -> ms.CreateMailingResponse:
        stream = aiter(request_iterator)
        first = await anext(stream, None)
        if first is None or not first.HasField("spec"):
            raise RcsError(Reason.INVALID_REQUEST, "the stream's first message must be the spec")
        s = first.spec
        async with self._pool.connection() as conn:
            partner = await partners.by_login(conn, s.partner)
        if partner is None:
            raise RcsError(Reason.INVALID_LOGIN, f"no partner with login {s.partner!r}")
        spec = domain.check_spec(
            name=s.name,
            source_key=s.source_key,
            sender=s.sender,
            default_sender=partner.default_sender,
            text=s.text,
            auto_start=s.auto_start,
            start_at=s.start_time.ToDatetime(dt.UTC) if s.HasField("start_time") else None,
            end_at=s.end_time.ToDatetime(dt.UTC) if s.HasField("end_time") else None,
            window_begin=s.window_begin_minute,
            window_end=s.window_end_minute,
            window_subscriber_zone=s.window_subscriber_zone,
            priority=s.priority,
            rate_per_second=s.rate_per_second,
            default_rate=self._default_rate,
            owned_senders=partner.owned_senders,
        )
        async with self._pool.connection() as conn, conn.transaction():
            mailing_id = await store.insert(conn, partner.id, spec, State.LOADED)
            if mailing_id is None:  # the same source again: the first answer
                assert spec.source_key is not None
                found = await store.by_source(conn, partner.id, spec.source_key)
                assert found is not None
                return ms.CreateMailingResponse(
                    mailing=to_proto(found, await store.progress(conn, found)),
                    existing=True,
                    refused=_refusals(await store.refusals(conn, found.id)),
                )
            await store.open_staging(conn)
            started = time.monotonic()
            lines = last_line = 0
            async for request in stream:
                if not request.HasField("recipients"):
                    raise RcsError(Reason.INVALID_REQUEST, "only the first message may be a spec")
                batch = request.recipients.recipients
                if len(batch) > MAX_BATCH:
                    raise RcsError(
                        Reason.INVALID_REQUEST, f"at most {MAX_BATCH} recipients a message"
                    )
                rows, refused, last_line = _check_batch(batch, spec.text, lines, last_line)
                lines += len(batch)
                await store.stage(conn, rows)
                await store.refuse(conn, mailing_id, refused)
            streamed = time.monotonic()
            total = await store.load_staged(conn, mailing_id, partner.id)
            log.info(
                "mailing_loaded",
                extra={
                    "mailing": mailing_id,
                    "lines": lines,
                    "total": total,
                    "stream_seconds": round(streamed - started, 3),
                    "store_seconds": round(time.monotonic() - streamed, 3),
                },
            )
            if total == 0:
                raise RcsError(
                    Reason.INVALID_REQUEST,
                    "the mailing has no recipient left to send to (none given, or every"
                    " number invalid, black-listed or repeated)",
                    field="recipients",
                )
            if spec.auto_start:
                now = dt.datetime.now(dt.UTC)
                await store.set_state(
                    conn, mailing_id, domain.started_state(spec.start_at, now), reset_credit=True
                )
            found = await store.get(conn, mailing_id)
            assert found is not None
            refused_all = await store.refusals(conn, mailing_id)
        return ms.CreateMailingResponse(
            mailing=to_proto(found, store.Progress(total=found.total, accepted=0)),
            refused=_refusals(refused_all),
        )

    async def _mailing(
        self, conn: Any, mailing_id: str, partner: str, *, for_update: bool = False
    ) -> store.MailingRow:
        parsed = ids.parse(mailing_id)
        found = await store.get(conn, parsed, for_update=for_update) if parsed else None
        if found is None or (partner and found.partner != partner):
            raise RcsError(Reason.MAILING_NOT_FOUND, f"no mailing {mailing_id} for this login")
        return found

    async def _change(self, mailing_id: str, partner: str, action: Action) -> ms.Mailing:
        async with self._pool.connection() as conn, conn.transaction():
            m = await self._mailing(conn, mailing_id, partner, for_update=True)
            cur = await conn.execute("SELECT now()")
            row = await cur.fetchone()
            assert row is not None
            state = domain.transition(m.state, action, m.start_at, row[0])
            await store.set_state(
                conn, m.id, state, reset_credit=action in (Action.START, Action.RESUME)
            )
            changed = await store.get(conn, m.id)
            assert changed is not None
            return to_proto(changed, await store.progress(conn, changed))

    async def StartMailing(
        self, request: ms.StartMailingRequest, context: Ctx
    ) -> ms.StartMailingResponse:
        mailing = await self._change(request.mailing_id, request.partner, Action.START)
        return ms.StartMailingResponse(mailing=mailing)

    async def PauseMailing(
        self, request: ms.PauseMailingRequest, context: Ctx
    ) -> ms.PauseMailingResponse:
        mailing = await self._change(request.mailing_id, request.partner, Action.PAUSE)
        return ms.PauseMailingResponse(mailing=mailing)

    async def ResumeMailing(
        self, request: ms.ResumeMailingRequest, context: Ctx
    ) -> ms.ResumeMailingResponse:
        mailing = await self._change(request.mailing_id, request.partner, Action.RESUME)
        return ms.ResumeMailingResponse(mailing=mailing)

    async def CancelMailing(
        self, request: ms.CancelMailingRequest, context: Ctx
    ) -> ms.CancelMailingResponse:
        mailing = await self._change(request.mailing_id, request.partner, Action.CANCEL)
        return ms.CancelMailingResponse(mailing=mailing)

    async def GetMailing(
        self, request: ms.GetMailingRequest, context: Ctx
    ) -> ms.GetMailingResponse:
        async with self._pool.connection() as conn:
            m = await self._mailing(conn, request.mailing_id, request.partner)
            return ms.GetMailingResponse(mailing=to_proto(m, await store.progress(conn, m)))

    async def ListMailings(
        self, request: ms.ListMailingsRequest, context: Ctx
    ) -> ms.ListMailingsResponse:
        size = request.page_size or 20
        if not 1 <= size <= 100:
            raise RcsError(Reason.INVALID_REQUEST, "page_size must be 1 to 100", field="page_size")
        before: int | None = None
        if request.page_token:
            try:
                before = int(base64.urlsafe_b64decode(request.page_token.encode()).decode())
            except ValueError as exc:
                raise RcsError(Reason.INVALID_REQUEST, "page_token is not one we issued") from exc
        async with self._pool.connection() as conn:
            partner_id: int | None = None
            if request.partner:
                partner = await partners.by_login(conn, request.partner)
                if partner is None:
                    raise RcsError(
                        Reason.INVALID_LOGIN, f"no partner with login {request.partner!r}"
                    )
                partner_id = partner.id
            page = await store.list_page(conn, partner_id, before, size + 1)
            token = ""
            if len(page) > size:
                page = page[:size]
                token = base64.urlsafe_b64encode(str(page[-1].id).encode()).decode()
            out = [to_proto(m, await store.progress(conn, m)) for m in page]
        return ms.ListMailingsResponse(mailings=out, next_page_token=token)

    async def StreamMailingRecipients(
        self, request: ms.StreamMailingRecipientsRequest, context: Ctx
    ) -> AsyncIterator[ms.StreamMailingRecipientsResponse]:
        async with self._pool.connection() as conn:
            m = await self._mailing(conn, request.mailing_id, request.partner)
        after = 0
        while True:
            async with self._pool.connection() as conn:
                page = await store.recipients_page(conn, m.id, after, STREAM_PAGE)
            if not page:
                return
            after = page[-1].seq
            yield ms.StreamMailingRecipientsResponse(
                recipients=[
                    ms.RecipientStatus(
                        line=r.line,
                        destination=r.destination,
                        external_id=r.external_id,
                        message_id=str(r.message_id) if r.message_id else "",
                        status=r.status,  # type: ignore[arg-type]
                    )
                    for r in page
                ]
            )


def _check_batch(
    batch: Any, template: str, before: int, last: int
) -> tuple[list[store.StagedRow], list[store.Refusal], int]:
    """Rows to stage and lines refused for their number. A line whose text is bad refuses
    the whole mailing (RcsError): only numbers may be skipped, as Rapporto's reports say.
    Recipients without a line number are numbered by their place (after ``before``);
    line numbers increase (after ``last``, returned updated)."""
    rows: list[store.StagedRow] = []
    refused: list[store.Refusal] = []
    for i, r in enumerate(batch):
        line = r.line or before + i + 1
        if line <= last:
            raise RcsError(
                Reason.INVALID_REQUEST,
                f"line numbers must increase through the mailing ({line} after {last})",
                field="line",
            )
        last = line
        params = list(r.params)
        try:
            domain.recipient_text(r.text, template, params)
        except RcsError as err:
            raise RcsError(err.reason, f"line {line}: {err.message}", field=err.field) from err
        number = normalize_msisdn(r.destination)
        if number is None:
            refused.append(store.Refusal(line, r.destination, Reason.INVALID_DESTINATION))
            continue
        rows.append((line, number, r.text, r.external_id or None, params or None))
    return rows, refused, last
