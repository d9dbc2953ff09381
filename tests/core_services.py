"""Core's message-side services in the test process, registered as core's __main__ does:
MessageService (partners), DeliveryService (receipts and MO from delivery) and
ReportLeaseService (report leases for gateways), over one pool; and their stubs on one
channel."""

from __future__ import annotations

import datetime as dt
from typing import Any

import grpc
from psycopg_pool import AsyncConnectionPool

from rcs.core.v1 import (
    delivery_service_pb2_grpc,
    message_service_pb2_grpc,
    report_lease_service_pb2_grpc,
)
from rcs_core.delivery.servicer import DeliveryServicer
from rcs_core.messages.servicer import MessageServicer
from rcs_core.reports.desk import ReportDesk
from rcs_core.reports.servicer import ReportLeaseServicer


class CoreServices:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        installation_id: int = 7,
        *,
        reports: ReportDesk | None = None,
        receipt_grace: dt.timedelta = dt.timedelta(hours=1),
        partner_cache_seconds: float = 5,
        **messages: Any,
    ) -> None:
        """``messages``: MessageServicer's other keywords (reads, max_queue_depth)."""
        self.messages = MessageServicer(
            pool, installation_id, partner_cache_seconds=partner_cache_seconds, **messages
        )
        self.delivery = DeliveryServicer(pool, installation_id, receipt_grace=receipt_grace)
        self.leases = ReportLeaseServicer(
            pool, reports=reports, partner_cache_seconds=partner_cache_seconds
        )

    def register(self, server: grpc.aio.Server) -> None:
        message_service_pb2_grpc.add_MessageServiceServicer_to_server(self.messages, server)
        delivery_service_pb2_grpc.add_DeliveryServiceServicer_to_server(self.delivery, server)
        report_lease_service_pb2_grpc.add_ReportLeaseServiceServicer_to_server(self.leases, server)

    async def close(self) -> None:
        await self.messages.close()
        await self.leases.close()


class CoreStubs:
    """The three services' stubs on one channel to core."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.messages: message_service_pb2_grpc.MessageServiceAsyncStub = (
            message_service_pb2_grpc.MessageServiceStub(channel)
        )
        self.delivery: delivery_service_pb2_grpc.DeliveryServiceAsyncStub = (
            delivery_service_pb2_grpc.DeliveryServiceStub(channel)
        )
        self.leases: report_lease_service_pb2_grpc.ReportLeaseServiceAsyncStub = (
            report_lease_service_pb2_grpc.ReportLeaseServiceStub(channel)
        )
