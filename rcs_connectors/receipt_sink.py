"""Receipts from every bind, passed to core in batches (DeliveryService.RecordReceipts);
and subscribers' messages (MO), passed one by one (RecordInbound: they are few).

A bind answers the operator's deliver_sm only after core confirmed the batch holding its
receipt (0x00), or else with the catalogue's ``deliver_sm`` status for core's refusal: 0x64
(temporary: the operator redelivers) when the reason is retryable, as when core could not be
reached, 0x65 when redelivering cannot help. So a receipt is never acknowledged before it
is stored. The batches are an
``rcs_runtime.batcher.Batcher``: ``batch`` receipts, or whatever came within
``flush_seconds`` of the first, any number of calls in flight.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import grpc
from prometheus_client import Counter

from rcs.core.v1 import delivery_service_pb2_grpc, message_service_pb2
from rcs_runtime.batcher import Batcher, Failed
from rcs_runtime.grpc_client import catalogue_entry

log = logging.getLogger(__name__)
RECEIPTS = Counter("rcs_connector_receipts_total", "Receipts passed to core", ["outcome"])
INBOUND = Counter("rcs_connector_inbound_total", "MO parts passed to core", ["outcome"])


class ReceiptSink:
    def __init__(
        self,
        core: delivery_service_pb2_grpc.DeliveryServiceAsyncStub,
        *,
        batch: int = 200,
        flush_seconds: float = 0.02,
        timeout: float = 10.0,
    ) -> None:
        self._core = core
        self._timeout = timeout
        self._batcher: Batcher[None, message_service_pb2.Receipt, int] = Batcher(
            self._send, max_size=batch, max_delay=flush_seconds, name="receipt-sink"
        )

    async def record_inbound(self, part: message_service_pb2.InboundPart) -> int:
        """The deliver_sm command_status: 0 once core stored the MO part, else the
        catalogue's answer for core's refusal (see the module's docstring)."""
        request = message_service_pb2.RecordInboundRequest(
            request_id=uuid.uuid4().hex, parts=[part]
        )
        try:
            await self._core.RecordInbound(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            log.warning("inbound_not_recorded", extra={"code": err.code().name})
            INBOUND.labels("deferred").inc()
            return catalogue_entry(err).deliver_sm
        INBOUND.labels("recorded").inc()
        return 0

    def record(self, receipt: message_service_pb2.Receipt) -> asyncio.Future[int]:
        """To await: the deliver_sm command_status, 0 once core stored the receipt, else the
        catalogue's answer for core's refusal (see the module's docstring). (The batcher's
        future itself: no coroutine frame per receipt.)"""
        return self._batcher.submit(None, receipt)

    async def _send(self, _: None, batch: list[message_service_pb2.Receipt]) -> list[int | Failed]:
        # No request_id: a failed call is never repeated (the operator redelivers, in a
        # new call), and applying a receipt twice changes nothing; a key would only cost
        # core a request_log lookup and insert per call.
        request = message_service_pb2.RecordReceiptsRequest(receipts=batch)
        status = 0
        try:
            await self._core.RecordReceipts(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            status = catalogue_entry(err).deliver_sm
            log.warning("receipts_not_recorded", extra={"code": err.code().name, "n": len(batch)})
        RECEIPTS.labels("deferred" if status else "recorded").inc(len(batch))
        return [status] * len(batch)
