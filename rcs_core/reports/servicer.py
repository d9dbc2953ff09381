"""gRPC edge of the report outbox for gateways: ReportLeaseService. A gateway that pushes
reports over a partner's own connection (the SMPP gateway's deliver_sm) leases them and
settles each lease."""

from __future__ import annotations

from typing import Any

import grpc
from psycopg_pool import AsyncConnectionPool

from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import report_lease_service_pb2_grpc
from rcs_core.auth.partner_cache import PartnerCache
from rcs_core.reports import desk as report_desk
from rcs_runtime.errors import RcsError, Reason

Ctx = grpc.aio.ServicerContext[Any, Any]


class ReportLeaseServicer(report_lease_service_pb2_grpc.ReportLeaseServiceServicer):
    def __init__(
        self,
        pool: AsyncConnectionPool,
        *,
        reports: report_desk.ReportDesk | None = None,
        partner_cache_seconds: float = 5,
    ) -> None:
        """``reports``: the desk with the installation's retry settings; default one."""
        self._reports = reports or report_desk.ReportDesk(pool)
        self._partners = PartnerCache(pool, partner_cache_seconds)

    async def close(self) -> None:
        await self._reports.close()

    async def LeaseReports(
        self, request: ms.LeaseReportsRequest, context: Ctx
    ) -> ms.LeaseReportsResponse:
        partner = await self._partners.get(request.partner)
        if request.format == ms.REPORT_FORMAT_UNSPECIFIED:
            raise RcsError(
                Reason.INVALID_REQUEST, "format must name a report format", field="format"
            )
        limit = request.max_reports or 100
        if not 1 <= limit <= 1000:
            raise RcsError(
                Reason.INVALID_REQUEST, "max_reports must be 1 to 1000", field="max_reports"
            )
        leased = await self._reports.lease(
            formats=[int(request.format)],
            partner_id=partner.id,
            limit=limit,
            lease_for=request.lease.ToTimedelta() or report_desk.DEFAULT_LEASE,
            wait=request.wait.ToTimedelta(),
        )
        return ms.LeaseReportsResponse(reports=[report_desk.to_proto(r) for r in leased])

    async def SettleReports(
        self, request: ms.SettleReportsRequest, context: Ctx
    ) -> ms.SettleReportsResponse:
        count = await self._reports.settle(
            delivered=list(request.delivered),
            failed=list(request.failed),
            released=list(request.released),
            error=request.error,
        )
        return ms.SettleReportsResponse(settled_count=count)
