"""ReceiptForwardService: receipts a peer installation of the cluster parked because their
operator id is unknown there (the operator delivered them on the peer's bind of the shared
account). Applied through the same code as receipts from our own binds; the unmatched ones
are not parked here (the peer keeps and re-offers them), so nothing is forwarded twice."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import grpc
from psycopg_pool import AsyncConnectionPool

from rcs.core.v1 import receipt_forward_pb2 as rf
from rcs.core.v1 import receipt_forward_pb2_grpc
from rcs_core.delivery import receipts_store as receipts
from rcs_core.messages.statuses import Status
from rcs_runtime.errors import RcsError, Reason

log = logging.getLogger(__name__)
Ctx = grpc.aio.ServicerContext[Any, Any]


class ReceiptForwardServicer(receipt_forward_pb2_grpc.ReceiptForwardServiceServicer):
    def __init__(self, pool: AsyncConnectionPool, horizon: dt.timedelta) -> None:
        self._pool = pool
        self._horizon = horizon

    async def ApplyForwardedReceipts(
        self, request: rf.ApplyForwardedReceiptsRequest, context: Ctx
    ) -> rf.ApplyForwardedReceiptsResponse:
        items = [_receipt_in(r) for r in request.receipts]
        async with self._pool.connection() as conn, conn.transaction():
            matched = await receipts.apply(conn, items, horizon=self._horizon, park=False)
        if matched:
            log.info(
                "forwarded_receipts_applied",
                extra={"from_installation": request.from_installation_id, "count": len(matched)},
            )
        return rf.ApplyForwardedReceiptsResponse(matched=sorted(matched))


def _receipt_in(r: rf.ForwardedReceipt) -> receipts.ReceiptIn:
    try:
        status = Status(r.status)
    except ValueError:
        status = Status.ACCEPTED  # refused below, with the same message
    if not status.is_final or not r.operator_keys or not all(r.operator_keys):
        raise RcsError(
            Reason.INVALID_REQUEST,
            "a forwarded receipt needs its operator keys and a final status",
        )
    return receipts.ReceiptIn(
        interface_id=r.interface_id,
        keys=list(r.operator_keys),
        status=status,
        error_code=r.error_code,
        operator_state=r.operator_state,
    )
