"""DwhReportService: the reports per cluster over gRPC, and their Excel export."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC
from typing import Any

from psycopg_pool import AsyncConnectionPool

from rcs.dwh.v1 import dwh_report_service_pb2 as pb
from rcs.dwh.v1 import dwh_report_service_pb2_grpc as pb_grpc
from rcs_dwh import reports, xlsx
from rcs_runtime.errors import RcsError, Reason
from rcs_runtime.grpc_server import Ctx

_UNITS = {pb.GRANULARITY_HOUR: "hour", pb.GRANULARITY_DAY: "day", pb.GRANULARITY_UNSPECIFIED: "day"}
_COUNT_HEADER = ("messages", "delivered", "undelivered", "expired", "rejected", "pending", "parts")


def _counts(c: reports.Counts) -> pb.StatusCounts:
    return pb.StatusCounts(
        messages=c[0],
        delivered=c[1],
        undelivered=c[2],
        expired=c[3],
        rejected=c[4],
        pending=c[5],
        parts=c[6],
    )


class DwhReportServicer(pb_grpc.DwhReportServiceServicer):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def _query(self, q: pb.ReportQuery) -> reports.Query:
        if not q.cluster:
            raise RcsError(
                Reason.INVALID_REQUEST, "query.cluster is required", field="query.cluster"
            )
        if not q.HasField("start_time") or not q.HasField("end_time"):
            raise RcsError(
                Reason.INVALID_REQUEST,
                "query.start_time and query.end_time are required",
                field="query.start_time",
            )
        start = q.start_time.ToDatetime(UTC)
        end = q.end_time.ToDatetime(UTC)
        if start >= end:
            raise RcsError(
                Reason.INVALID_REQUEST, "query.start_time must be before end_time", field="query"
            )
        if not await reports.cluster_known(self._pool, q.cluster):
            raise RcsError(
                Reason.DWH_UNKNOWN_CLUSTER,
                f"no installation of cluster {q.cluster!r} is in the DWH registry",
                field="query.cluster",
            )
        return reports.Query(q.cluster, start, end, q.partner)

    async def _summary(self, q: pb.ReportQuery) -> pb.GetSummaryReportResponse:
        rows = await reports.summary(self._pool, await self._query(q))
        total = [sum(c[i] for _, _, c in rows) for i in range(7)]
        return pb.GetSummaryReportResponse(
            rows=[pb.SummaryRow(partner=p, channel=ch, counts=_counts(c)) for p, ch, c in rows],  # type: ignore[arg-type]
            total=_counts(tuple(total)),  # type: ignore[arg-type]
        )

    async def _chronological(
        self, q: pb.ReportQuery, granularity: Any
    ) -> pb.GetChronologicalReportResponse:
        rows = await reports.chronological(self._pool, await self._query(q), _UNITS[granularity])
        out = pb.GetChronologicalReportResponse()
        for at, c in rows:
            row = out.rows.add(counts=_counts(c))
            row.period_start.FromDatetime(at)
        return out

    async def _financial(self, q: pb.ReportQuery) -> pb.GetFinancialReportResponse:
        lines = await reports.financial(self._pool, await self._query(q))
        out = pb.GetFinancialReportResponse()
        for ln in lines:
            out.rows.add(
                partner=ln.partner,
                direction=ln.direction,
                channel=ln.channel,
                traffic_type=ln.traffic_type,
                messages=ln.messages,
                price="" if ln.price is None else str(ln.price),
                amount="" if ln.amount is None else str(ln.amount),
                currency=ln.currency,
            )
            if ln.price is None:
                out.unpriced_messages += ln.messages
        return out

    async def GetSummaryReport(
        self, request: pb.GetSummaryReportRequest, context: Ctx
    ) -> pb.GetSummaryReportResponse:
        return await self._summary(request.query)

    async def GetChronologicalReport(
        self, request: pb.GetChronologicalReportRequest, context: Ctx
    ) -> pb.GetChronologicalReportResponse:
        return await self._chronological(request.query, request.granularity)

    async def GetFinancialReport(
        self, request: pb.GetFinancialReportRequest, context: Ctx
    ) -> pb.GetFinancialReportResponse:
        return await self._financial(request.query)

    async def ExportReport(
        self, request: pb.ExportReportRequest, context: Ctx
    ) -> AsyncIterator[pb.ExportReportResponse]:
        title, header, rows = await self._table(request)
        chunks = xlsx.chunks(title, header, rows)
        while chunk := await asyncio.to_thread(next, chunks, b""):
            yield pb.ExportReportResponse(chunk=chunk)

    async def _table(
        self, request: pb.ExportReportRequest
    ) -> tuple[str, Sequence[str], list[Sequence[object]]]:
        if request.kind == pb.REPORT_KIND_SUMMARY:
            s = await self._summary(request.query)
            return (
                "summary",
                ("partner", "channel", *_COUNT_HEADER),
                [(r.partner, r.channel, *_values(r.counts)) for r in s.rows],
            )
        if request.kind == pb.REPORT_KIND_CHRONOLOGICAL:
            c = await self._chronological(request.query, request.granularity)
            return (
                "chronological",
                ("period_start", *_COUNT_HEADER),
                [(r.period_start.ToDatetime(UTC).isoformat(), *_values(r.counts)) for r in c.rows],
            )
        if request.kind == pb.REPORT_KIND_FINANCIAL:
            f = await self._financial(request.query)
            return (
                "financial",
                (
                    "partner",
                    "direction",
                    "channel",
                    "traffic_type",
                    "messages",
                    "price",
                    "amount",
                    "currency",
                ),
                [
                    (
                        r.partner,
                        r.direction,
                        r.channel,
                        r.traffic_type,
                        r.messages,
                        r.price,
                        r.amount,
                        r.currency,
                    )
                    for r in f.rows
                ],
            )
        raise RcsError(Reason.INVALID_REQUEST, "kind must name a report", field="kind")


def _values(c: pb.StatusCounts) -> tuple[int, ...]:
    return (c.messages, c.delivered, c.undelivered, c.expired, c.rejected, c.pending, c.parts)
