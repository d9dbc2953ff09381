"""gRPC edge of message acceptance: MessageService, the partner gateways' calls (submit, get,
list, stream statuses, submit parts)."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
import psycopg
from psycopg_pool import AsyncConnectionPool

from rcs.common.v1 import message_pb2, status_pb2
from rcs.core.v1 import (
    message_service_pb2,
    message_service_pb2_grpc,
)
from rcs_core.auth.partner_cache import PartnerCache
from rcs_core.db import request_log
from rcs_core.messages import concatenated, ids, model
from rcs_core.messages import store as messages
from rcs_core.messages.accept_batcher import AcceptBatcher
from rcs_core.messages.idalloc import IdAllocator
from rcs_core.messages.queue_depth import QueueDepth
from rcs_core.messages.store import StoredMessage
from rcs_core.messages.validation import submission_of, validate
from rcs_runtime import channels
from rcs_runtime.errors import RcsError, Reason
from rcs_runtime.pg_notify import ChannelWaker
from rcs_runtime.replica import ReadPools
from rcs_runtime.timestamps import timestamp
from rcs_runtime.tracing import carrier_for_storage

log = logging.getLogger(__name__)
Ctx = grpc.aio.ServicerContext[Any, Any]
MAX_BATCH = 10_000
# Calls this small (and without request_id) share transactions (rcs_core.messages.accept_batcher).
GROUP_MAX_CALL = 100
# StreamStatusEvents wakes on the NOTIFY of every status_events insert (migration 0070) and
# looks again at least this often anyway.
STATUS_EVENTS_CHANNEL = "rcs_status_events"
STREAM_RECHECK_SECONDS = 5.0


def _sms_of(m: messages.StoredMessage) -> message_pb2.SmsContent:
    if m.data_coding is None:
        return message_pb2.SmsContent(text=m.body, sender=m.sender, flash=m.flash)
    return message_pb2.SmsContent(
        sender=m.sender,
        payload=bytes.fromhex(m.body),
        data_coding=m.data_coding,
        esm_class=m.esm_class or 0,
    )


def to_proto(m: StoredMessage) -> message_pb2.Message:
    return message_pb2.Message(
        id=str(m.id),
        partner=m.partner,
        client_ref=m.client_ref or "",
        destination=m.destination,
        channel=m.channel,  # type: ignore[arg-type]
        sms=_sms_of(m),
        priority=m.priority,
        valid_until=timestamp(m.valid_until),
        receipt_request=m.receipt_request,  # type: ignore[arg-type]
        status=int(m.status),  # type: ignore[arg-type]
        error_code=m.error_code,
        create_time=timestamp(m.created_at),
        part_count=m.part_count,
        traffic_type=m.traffic_type,
        mailing=m.mailing,
        ptag=m.ptag or "",
        send_after=timestamp(m.send_after),
        push=message_pb2.PushContent.FromString(m.push)
        if m.push and m.channel == channels.PUSH
        else None,
        viber=message_pb2.ViberContent.FromString(m.push)
        if m.push and m.channel in channels.MESSENGER_CONTENT
        else None,
        history=[
            status_pb2.StatusEvent(
                message_id=str(m.id),
                status=int(h.status),  # type: ignore[arg-type]
                error_code=h.error_code,
                time=timestamp(h.time),
                detail=h.detail,
            )
            for h in m.history
        ],
    )


class MessageServicer(message_service_pb2_grpc.MessageServiceServicer):
    def __init__(
        self,
        pool: AsyncConnectionPool,
        installation_id: int,
        *,
        partner_cache_seconds: float = 5,
        reads: ReadPools | None = None,
        max_queue_depth: int = 0,
    ) -> None:
        """``reads``: where message lists read (the replica when usable); default the pool."""
        self._pool = pool
        self._reads = reads
        self._queue = QueueDepth(pool, max_queue_depth)
        self._ids = IdAllocator(installation_id)
        self._batcher = AcceptBatcher(pool, self._ids)
        self._partners = PartnerCache(pool, partner_cache_seconds)
        conninfo = pool.conninfo
        assert isinstance(conninfo, str)  # open_pool passes the DSN
        self._status_events = ChannelWaker(conninfo, STATUS_EVENTS_CHANNEL)

    async def close(self) -> None:
        await self._batcher.close()
        await self._status_events.close()

    async def SubmitMessages(
        self, request: message_service_pb2.SubmitMessagesRequest, context: Ctx
    ) -> message_service_pb2.SubmitMessagesResponse:
        if len(request.messages) > MAX_BATCH:
            raise RcsError(Reason.INVALID_REQUEST, f"at most {MAX_BATCH} messages per batch")
        partner = await self._partners.get(request.partner)
        await self._queue.check()
        trace_parent = carrier_for_storage()
        default_ttl = dt.timedelta(seconds=partner.default_ttl_seconds)
        # Once per call, not per message: owned_senders is a set union.
        default_sender, owned, grants = (
            partner.default_sender,
            partner.owned_senders,
            partner.channels,
        )
        results: list[message_service_pb2.SubmitResult | None] = []
        valid: list[model.NewMessage] = []
        for sub in request.messages:
            try:
                valid.append(
                    validate(
                        submission_of(sub),
                        default_sender=default_sender,
                        default_ttl=default_ttl,
                        trace_parent=trace_parent,
                        owned_senders=owned,
                        grants=grants,
                    )
                )
                results.append(None)
            except RcsError as err:
                results.append(
                    message_service_pb2.SubmitResult(
                        error=message_service_pb2.SubmitError(
                            reason=err.reason, message=err.message, field=err.field
                        )
                    )
                )
        window = (
            dt.timedelta(seconds=partner.duplicate_window_seconds)
            if partner.block_duplicates
            else None
        )
        if not request.request_id and len(valid) <= GROUP_MAX_CALL:
            return self._response(results, await self._batcher.accept(partner.id, valid, window))

        async def accept(
            conn: psycopg.AsyncConnection,
        ) -> message_service_pb2.SubmitMessagesResponse:
            accepted = await messages.accept(
                conn,
                ids=self._ids,
                partner_id=partner.id,
                messages=valid,
                duplicate_window=window,
            )
            return self._response(results, accepted)

        return await request_log.once(
            self._pool,
            request.request_id,
            "SubmitMessages",
            message_service_pb2.SubmitMessagesResponse,
            accept,
        )

    @staticmethod
    def _response(
        refused: list[message_service_pb2.SubmitResult | None], accepted: list[messages.Accepted]
    ) -> message_service_pb2.SubmitMessagesResponse:
        """Results in request order: refusals where validation failed, ids elsewhere."""
        it = iter(accepted)
        response = message_service_pb2.SubmitMessagesResponse()
        out = response.results
        for r in refused:
            if r is not None:
                out.append(r)
                continue
            a = next(it)
            if a.refused:
                err = RcsError(a.refused)
                out.add().error.MergeFrom(
                    message_service_pb2.SubmitError(reason=err.reason, message=err.message)
                )
            else:
                # Added in place: building each result apart and copying it in cost twice.
                out.add(message_id=str(a.message_id), duplicate=a.duplicate)
        return response

    async def GetMessage(
        self, request: message_service_pb2.GetMessageRequest, context: Ctx
    ) -> message_service_pb2.GetMessageResponse:
        message_id = ids.parse(request.message_id)
        if message_id is None:
            raise RcsError(Reason.NOT_FOUND, "message ids are positive decimal integers")
        async with self._pool.connection() as conn:
            found = await messages.get(conn, message_id)
        if found is None or (request.partner and found.partner != request.partner):
            raise RcsError(Reason.NOT_FOUND, f"no message {request.message_id} for this login")
        return message_service_pb2.GetMessageResponse(message=to_proto(found))

    async def ListMessages(
        self, request: message_service_pb2.ListMessagesRequest, context: Ctx
    ) -> message_service_pb2.ListMessagesResponse:
        partner = await self._partners.get(request.partner)
        size = request.page_size or 100
        if not 1 <= size <= 1000:
            raise RcsError(Reason.INVALID_REQUEST, "page_size must be 1 to 1000")
        before: int | None = None
        if request.page_token:
            try:
                before = int(base64.urlsafe_b64decode(request.page_token.encode()).decode())
            except ValueError as exc:
                raise RcsError(Reason.INVALID_REQUEST, "page_token is not one we issued") from exc
        # A list may be a moment stale: it reads from the replica while that is usable.
        pool = await self._reads.reader() if self._reads else self._pool
        async with pool.connection() as conn:
            page = await messages.list_for_partner(
                conn, partner.id, before_id=before, limit=size + 1
            )
        token = ""
        if len(page) > size:
            page = page[:size]
            token = base64.urlsafe_b64encode(str(page[-1].id).encode()).decode()
        return message_service_pb2.ListMessagesResponse(
            messages=[to_proto(m) for m in page], next_page_token=token
        )

    async def StreamStatusEvents(
        self, request: message_service_pb2.StreamStatusEventsRequest, context: Ctx
    ) -> AsyncIterator[message_service_pb2.StreamStatusEventsResponse]:
        partner_id = (await self._partners.get(request.partner)).id if request.partner else None
        cursor = request.after_event_id
        if cursor == 0:
            async with self._pool.connection() as conn:
                cur = await conn.execute("SELECT coalesce(max(event_id), 0) FROM status_events")
                row = await cur.fetchone()
                cursor = int(row[0]) if row else 0
        # Event ids come from a sequence, so a transaction can commit a lower id after a
        # higher one was seen: re-read a short lookback and skip ids already sent.
        sent: dict[int, float] = {}
        loop = asyncio.get_running_loop()
        while True:
            seen = self._status_events.generation
            async with self._pool.connection() as conn:
                cur = await conn.execute(
                    "SELECT event_id, message_id, status, error_code, created_at, detail"
                    " FROM status_events WHERE event_id > %s"
                    " AND (%s::bigint IS NULL OR partner_id = %s)"
                    " AND created_at > now() - interval '1 day'"
                    " ORDER BY event_id LIMIT 1000",
                    (max(0, cursor - 1000), partner_id, partner_id),
                )
                rows = await cur.fetchall()
            now = loop.time()
            for event_id, message_id, status, error_code, created_at, detail in rows:
                if event_id in sent or event_id <= request.after_event_id:
                    continue
                sent[event_id] = now
                cursor = max(cursor, event_id)
                yield message_service_pb2.StreamStatusEventsResponse(
                    event_id=event_id,
                    event=status_pb2.StatusEvent(
                        message_id=str(message_id),
                        status=status,
                        error_code=error_code,
                        time=timestamp(created_at),
                        detail=detail,
                    ),
                )
            for key in [k for k, t in sent.items() if now - t > 60]:
                del sent[key]
            if len(rows) < 1000:
                await self._status_events.wait_past(seen, STREAM_RECHECK_SECONDS)

    async def SubmitPart(
        self, request: message_service_pb2.SubmitPartRequest, context: Ctx
    ) -> message_service_pb2.SubmitPartResponse:
        partner = await self._partners.get(request.partner)
        await self._queue.check()
        async with self._pool.connection() as conn, conn.transaction():
            return await concatenated.submit_part(
                conn, self._ids, partner, request, carrier_for_storage()
            )
