"""gRPC edge of what delivery brings back: DeliveryService, called by the SMPP connector,
the push service and the messenger service (operator and provider receipts, MO parts)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import grpc
import psycopg
from psycopg_pool import AsyncConnectionPool

from rcs.core.v1 import delivery_service_pb2_grpc
from rcs.core.v1 import message_service_pb2 as ms
from rcs_core.db import request_log
from rcs_core.delivery import receipts_store as receipts
from rcs_core.inbound import peers
from rcs_core.inbound import store as inbound
from rcs_core.messages.idalloc import IdAllocator
from rcs_core.messages.statuses import Status
from rcs_core.messages.validation import MAX_TTL
from rcs_runtime.errors import RcsError, Reason

Ctx = grpc.aio.ServicerContext[Any, Any]
MAX_INBOUND_BATCH = 1000


class DeliveryServicer(delivery_service_pb2_grpc.DeliveryServiceServicer):
    def __init__(
        self,
        pool: AsyncConnectionPool,
        installation_id: int,
        *,
        receipt_grace: dt.timedelta = dt.timedelta(hours=1),
    ) -> None:
        """``installation_id``: MO messages get ids of this installation (from their own
        blocks of the id sequence: ids have gaps, never repeats)."""
        self._pool = pool
        self._ids = IdAllocator(installation_id)
        # Receipts for ids sent longer ago find their messages expired already.
        self._receipt_horizon = MAX_TTL + receipt_grace

    async def RecordInbound(
        self, request: ms.RecordInboundRequest, context: Ctx
    ) -> ms.RecordInboundResponse:
        if len(request.parts) > MAX_INBOUND_BATCH:
            raise RcsError(Reason.INVALID_REQUEST, f"at most {MAX_INBOUND_BATCH} parts per call")
        parts = []
        for p in request.parts:
            if not ((p.source and (p.destination or p.reply_to_message_id)) or p.peer):
                raise RcsError(
                    Reason.INVALID_REQUEST,
                    "an inbound part needs source and destination (or reply_to_message_id,"
                    " whose sender is then the destination, or peer, the provider's id for"
                    " the subscriber)",
                )
            if p.part_total > 1 and not 1 <= p.part_number <= p.part_total:
                raise RcsError(Reason.INVALID_REQUEST, "part_number must be 1 to part_total")
            parts.append(
                inbound.PartIn(
                    interface_id=p.interface_id,
                    source=p.source,
                    destination=p.destination,
                    data_coding=p.data_coding,
                    payload=p.payload,
                    reference=p.reference,
                    part_number=p.part_number,
                    part_total=p.part_total,
                    received_at=(
                        p.receive_time.ToDatetime(dt.UTC) if p.HasField("receive_time") else None
                    ),
                    channel=p.channel or inbound.SMS,
                    media_url=p.media_url,
                    reply_to_message_id=p.reply_to_message_id,
                    reply_to_operator_id=p.reply_to_operator_id,
                    peer=p.peer,
                )
            )

        async def record(
            conn: psycopg.AsyncConnection,
        ) -> ms.RecordInboundResponse:
            recorded = await inbound.record(conn, self._ids, parts)
            return ms.RecordInboundResponse(
                results=[
                    ms.InboundResult(
                        message_id=str(r.message_id) if r.message_id else "", partner=r.partner
                    )
                    for r in recorded
                ]
            )

        return await request_log.once(
            self._pool,
            request.request_id,
            "RecordInbound",
            ms.RecordInboundResponse,
            record,
        )

    async def RecordReceipts(
        self, request: ms.RecordReceiptsRequest, context: Ctx
    ) -> ms.RecordReceiptsResponse:
        items, seen = [], []
        for r in request.receipts:
            keys = receipts.receipt_keys(r.operator_message_id)
            if not keys:
                raise RcsError(Reason.INVALID_REQUEST, "a receipt has an empty operator_message_id")
            if r.peer:
                seen.append(peers.PeerSeen(r.interface_id, keys[0], r.peer))
            items.append(
                receipts.ReceiptIn(
                    interface_id=r.interface_id,
                    keys=keys,
                    status=_receipt_status(r.status),
                    error_code=r.error_code,
                    operator_state=r.operator_state,
                )
            )

        async def record(
            conn: psycopg.AsyncConnection,
        ) -> ms.RecordReceiptsResponse:
            matched = await receipts.record(conn, items, horizon=self._receipt_horizon)
            await peers.remember(conn, seen, self._receipt_horizon)
            return ms.RecordReceiptsResponse(matched_count=matched)

        return await request_log.once(
            self._pool,
            request.request_id,
            "RecordReceipts",
            ms.RecordReceiptsResponse,
            record,
        )


def _receipt_status(value: int) -> Status:
    try:
        status = Status(value)
    except ValueError:
        status = Status.ACCEPTED  # refused below, with the same message
    if not status.is_final:
        raise RcsError(Reason.INVALID_REQUEST, "a receipt's status must be a final status")
    return status
