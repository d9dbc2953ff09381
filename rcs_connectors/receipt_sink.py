"""Receipts from every bind, passed to core in batches (MessageService.RecordReceipts);
and subscribers' messages (MO), passed one by one (RecordInbound: they are few).

A bind answers the operator's deliver_sm only after core confirmed the batch holding its
receipt (0x00), or with 0x64 (temporary: the operator redelivers) when core could not be
reached. So a receipt is never acknowledged before it is stored. The batches are an
``rcs_runtime.batcher.Batcher``: ``batch`` receipts, or whatever came within
``flush_seconds`` of the first, any number of calls in flight.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import grpc
from prometheus_client import Counter

from rcs.core.v1 import message_service_pb2, message_service_pb2_grpc
from rcs_runtime.batcher import Batcher, Failed

log = logging.getLogger(__name__)
RECEIPTS = Counter("rcs_connector_receipts_total", "Receipts passed to core", ["outcome"])
INBOUND = Counter("rcs_connector_inbound_total", "MO parts passed to core", ["outcome"])


class ReceiptSink:
    def __init__(
        self,
        core: message_service_pb2_grpc.MessageServiceAsyncStub,
        *,
        batch: int = 200,
        flush_seconds: float = 0.02,
        timeout: float = 10.0,
    ) -> None:
        self._core = core
        self._timeout = timeout
        self._batcher: Batcher[None, message_service_pb2.Receipt, bool] = Batcher(
            self._send, max_size=batch, max_delay=flush_seconds, name="receipt-sink"
        )

    async def record_inbound(self, part: message_service_pb2.InboundPart) -> bool:
        """True once core stored the MO part; False when core could not be reached."""
        request = message_service_pb2.RecordInboundRequest(
            request_id=uuid.uuid4().hex, parts=[part]
        )
        try:
            await self._core.RecordInbound(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            log.warning("inbound_not_recorded", extra={"code": err.code().name})
            INBOUND.labels("deferred").inc()
            return False
        INBOUND.labels("recorded").inc()
        return True

    def record(self, receipt: message_service_pb2.Receipt) -> asyncio.Future[bool]:
        """To await: True once core stored the receipt; False when core could not be
        reached. (The batcher's future itself: no coroutine frame per receipt.)"""
        return self._batcher.submit(None, receipt)

    async def _send(self, _: None, batch: list[message_service_pb2.Receipt]) -> list[bool | Failed]:
        # No request_id: a failed call is never repeated (the operator redelivers, in a
        # new call), and applying a receipt twice changes nothing; a key would only cost
        # core a request_log lookup and insert per call.
        request = message_service_pb2.RecordReceiptsRequest(receipts=batch)
        ok = True
        try:
            await self._core.RecordReceipts(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            ok = False
            log.warning("receipts_not_recorded", extra={"code": err.code().name, "n": len(batch)})
        RECEIPTS.labels("recorded" if ok else "deferred").inc(len(batch))
        return [ok] * len(batch)
