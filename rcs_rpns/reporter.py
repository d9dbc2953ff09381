"""Receipts to core: the pushes whose status core has not stored yet (the outbox is
rpns_pushes where status <> reported_status), sent in batches through
DeliveryService.RecordReceipts, keyed by rpns's interface id and the push id. A batch is
marked reported only after core answered, so a receipt is never lost; core applies a
repeated one without effect."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import grpc
import psycopg
from google.protobuf import timestamp_pb2
from prometheus_client import Counter
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from rcs.common.v1 import status_pb2
from rcs.core.v1 import delivery_service_pb2_grpc, message_service_pb2
from rcs_rpns.storage import pushes

log = logging.getLogger(__name__)
RECEIPTS = Counter("rcs_rpns_receipts_total", "Push receipts stored by core", ["status"])
_STATE = {
    pushes.DELIVERED: "DELIVRD",
    pushes.READ: "READ",
    pushes.UNDELIVERED: "UNDELIV",
}


def receipts_of(row: pushes.Unreported) -> list[message_service_pb2.Receipt]:
    """READ is preceded by DELIVERED when core has not heard of the delivery yet."""
    done = timestamp_pb2.Timestamp()
    done.FromDatetime(row.status_at)
    statuses = [row.status]
    if row.status == pushes.READ and row.reported_status == pushes.NONE:
        statuses = [pushes.DELIVERED, pushes.READ]
    return [
        message_service_pb2.Receipt(
            interface_id=row.interface_id,
            operator_message_id=str(row.push_id),
            status=status,  # type: ignore[arg-type]
            error_code=row.error_code if status == pushes.UNDELIVERED else 0,
            done_time=done,
            operator_state=_STATE[status],
        )
        for status in statuses
    ]


class Reporter:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        core: delivery_service_pb2_grpc.DeliveryServiceAsyncStub,
        *,
        batch: int = 200,
        poll_seconds: float = 0.5,
        timeout: float = 10.0,
    ) -> None:
        self._pool = pool
        self._core = core
        self._batch = batch
        self._poll = poll_seconds
        self._timeout = timeout
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                sent = await self.report_once()
                failures = 0
            # PostgreSQL restarting (psycopg.Error, PoolTimeout) is waited out like core.
            except (grpc.aio.AioRpcError, OSError, psycopg.Error, PoolTimeout) as err:
                failures += 1
                log.warning("rpns_receipts_not_recorded", extra={"error": str(err)[:200]})
                await asyncio.sleep(min(30.0, 0.5 * 2**failures))
                continue
            if sent < self._batch:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll)

    async def report_once(self) -> int:
        async with self._pool.connection() as conn:
            rows = await pushes.unreported(conn, self._batch)
        if not rows:
            return 0
        receipts = [r for row in rows for r in receipts_of(row)]
        await self._core.RecordReceipts(
            message_service_pb2.RecordReceiptsRequest(receipts=receipts), timeout=self._timeout
        )
        async with self._pool.connection() as conn, conn.transaction():
            await pushes.mark_reported(conn, [(row.push_id, row.status) for row in rows])
        for r in receipts:
            RECEIPTS.labels(status_pb2.MessageStatus.Name(r.status)).inc()
        return len(rows)
