"""ReportService: installation reports over gRPC, read from the replica when usable (F17, F21).

Exports write the workbook to a temporary file row batch by row batch (constant memory),
sending the rows done after each batch, then stream the file in 1 MiB pieces and delete it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar

import grpc
import psycopg
from psycopg_pool import AsyncConnectionPool

from rcs.common.v1 import channel_pb2, status_pb2
from rcs.core.v1 import report_service_pb2 as rs
from rcs.core.v1 import report_service_pb2_grpc
from rcs_core.traffic_reports import store as reports
from rcs_core.traffic_reports.excel import Kind, ReportWorkbook
from rcs_runtime.errors import RcsError, Reason
from rcs_runtime.replica import ReadPools

Ctx = grpc.aio.ServicerContext[Any, Any]
R = TypeVar("R", rs.ExportSummaryResponse, rs.ExportSearchResponse)
CHUNK = 1 << 20
EXPORT_BATCH = 10_000
EXPORT_RESUMES = 3
log = logging.getLogger(__name__)

SUMMARY_COLUMNS = {
    "partner": "Partner",
    "operator": "Operator",
    "direction": "Direction",
    "channel": "Channel",
    "status": "Status",
    "day": "Day",
}
SEARCH_COLUMNS: tuple[tuple[str, Kind], ...] = (
    ("Time (UTC)", "time"),
    ("Message id", "text"),  # text: ids pass 2^53, beyond a spreadsheet number's precision
    ("Direction", "text"),
    ("Partner", "text"),
    ("Operator", "text"),
    ("Channel", "text"),
    ("Number", "text"),
    ("Sender", "text"),
    ("Status", "text"),
    ("Error code", "number"),
    ("Parts", "number"),
    ("Text", "text"),
)


def to_filter(f: rs.ReportFilter) -> reports.Filter:
    return reports.Filter(
        partner=f.partner,
        number=f.number,
        sender=f.sender,
        statuses=tuple(int(s) for s in f.statuses),
        since=f.since.ToDatetime(tzinfo=dt.UTC) if f.HasField("since") else None,
        until=f.until.ToDatetime(tzinfo=dt.UTC) if f.HasField("until") else None,
        direction=int(f.direction),
    )


def direction_name(d: int) -> str:
    return {reports.MT: "MT", reports.MO: "MO"}.get(d, "")


def channel_name(c: int) -> str:
    try:
        return channel_pb2.Channel.Name(c).removeprefix("CHANNEL_")  # type: ignore[arg-type]
    except ValueError:
        return str(c)


def status_name(s: int) -> str:
    if s == 0:
        return ""  # MO messages have no status
    try:
        return status_pb2.MessageStatus.Name(s).removeprefix("MESSAGE_STATUS_")  # type: ignore[arg-type]
    except ValueError:
        return str(s)


_NAMERS: dict[str, Callable[[int], str]] = {
    "direction": direction_name,
    "channel": channel_name,
    "status": status_name,
}


def _key_cell(name: str, value: Any) -> Any:
    namer = _NAMERS.get(name)
    return namer(value) if namer else value


def summary_row(r: reports.SummaryRow) -> rs.SummaryRow:
    return rs.SummaryRow(messages=r.messages, parts=r.parts, **r.keys)


def found_message(m: reports.Found) -> rs.FoundMessage:
    out = rs.FoundMessage(
        message_id=str(m.id),
        direction=m.direction,  # type: ignore[arg-type]
        partner=m.partner,
        operator=m.operator,
        channel=m.channel,  # type: ignore[arg-type]
        number=m.number,
        sender=m.sender,
        status=m.status,  # type: ignore[arg-type]
        error_code=m.error_code,
        parts=m.parts,
        text=m.text,
    )
    out.at.FromDatetime(m.at)
    return out


def found_cells(m: reports.Found) -> list[Any]:
    return [
        m.at,
        str(m.id),
        direction_name(m.direction),
        m.partner,
        m.operator,
        channel_name(m.channel),
        m.number,
        m.sender,
        status_name(m.status),
        m.error_code,
        m.parts,
        m.text,
    ]


def _write(book: ReportWorkbook, rows: Sequence[Sequence[Any]]) -> None:
    for row in rows:
        book.add(row)


class ReportServicer(report_service_pb2_grpc.ReportServiceServicer):
    def __init__(self, reads: ReadPools, *, zone: str) -> None:
        """``zone``: the IANA zone days are counted in (RCS_REPORT_TIME_ZONE)."""
        self.reads = reads
        self.zone = zone

    async def _pool(self) -> tuple[AsyncConnectionPool, bool]:
        pool = await self.reads.reader()
        return pool, pool is self.reads.replica

    async def _summary(self, request: rs.SummarizeRequest) -> tuple[list[reports.SummaryRow], bool]:
        pool, from_replica = await self._pool()
        async with pool.connection() as conn:
            rows = await reports.summarize(
                conn, to_filter(request.filter), list(request.group_by), self.zone
            )
        return rows, from_replica

    async def Summarize(self, request: rs.SummarizeRequest, context: Ctx) -> rs.SummarizeResponse:
        rows, from_replica = await self._summary(request)
        return rs.SummarizeResponse(
            rows=[summary_row(r) for r in rows],
            total_messages=sum(r.messages for r in rows),
            total_parts=sum(r.parts for r in rows),
            from_replica=from_replica,
        )

    async def SearchMessages(
        self, request: rs.SearchMessagesRequest, context: Ctx
    ) -> rs.SearchMessagesResponse:
        pool, from_replica = await self._pool()
        async with pool.connection() as conn:
            found, token = await reports.search_page(
                conn, to_filter(request.filter), request.page_size, request.page_token
            )
        return rs.SearchMessagesResponse(
            messages=[found_message(m) for m in found],
            next_page_token=token,
            from_replica=from_replica,
        )

    async def ExportSummary(
        self, request: rs.ExportSummaryRequest, context: Ctx
    ) -> AsyncIterator[rs.ExportSummaryResponse]:
        rows, _ = await self._summary(request.summary)
        names = [
            reports.DIMENSIONS[d][0] for d in request.summary.group_by
        ]  # validated by summarize

        async def batches() -> AsyncIterator[list[list[Any]]]:
            out: list[list[Any]] = []
            for r in rows:
                keys = [_key_cell(n, r.keys[n]) for n in names]
                out.append([*keys, r.messages, r.parts])
            yield out

        columns: list[tuple[str, Kind]] = [
            *((SUMMARY_COLUMNS[n], "text") for n in names),
            ("Messages", "number"),
            ("Parts", "number"),
        ]
        async for chunk in _export("summary", columns, batches(), rs.ExportSummaryResponse):
            yield chunk

    async def ExportSearch(
        self, request: rs.ExportSearchRequest, context: Ctx
    ) -> AsyncIterator[rs.ExportSearchResponse]:
        f = to_filter(request.filter)
        f.where({})  # refuse a bad filter before anything is streamed

        async def batches() -> AsyncIterator[list[list[Any]]]:
            # A long read on a replica can be cancelled by recovery (a vacuum on the master
            # removed rows it might see): go on after the last row sent, on a new connection.
            after: tuple[dt.datetime, int] | None = None
            for attempt in range(EXPORT_RESUMES + 1):
                pool, _ = await self._pool()
                try:
                    async with pool.connection() as conn:
                        async for found in reports.search_all(conn, f, EXPORT_BATCH, after):
                            after = (found[-1].at, found[-1].id)
                            yield [found_cells(m) for m in found]
                    return
                except (psycopg.errors.SerializationFailure, psycopg.OperationalError) as exc:
                    if attempt == EXPORT_RESUMES:
                        raise RcsError(
                            Reason.SERVICE_UNAVAILABLE,
                            f"the export's read failed {attempt + 1} times ({exc}); retry it",
                        ) from exc
                    log.warning("report_export_resumed", extra={"error": str(exc)})

        async for chunk in _export("messages", SEARCH_COLUMNS, batches(), rs.ExportSearchResponse):
            yield chunk


async def _export(
    sheet: str,
    columns: Sequence[tuple[str, Kind]],
    batches: AsyncIterator[list[list[Any]]],
    make: type[R],
) -> AsyncIterator[R]:
    fd, path = tempfile.mkstemp(prefix="rcs-report-", suffix=".xlsx")
    os.close(fd)
    try:
        book = ReportWorkbook(path, sheet, columns)
        yield make(rows_done=0)
        async for rows in batches:
            # xlsxwriter is synchronous: a thread keeps the event loop serving others.
            await asyncio.to_thread(_write, book, rows)
            yield make(rows_done=book.rows)
        await asyncio.to_thread(book.close)
        fh = await asyncio.to_thread(open, path, "rb")
        try:
            while piece := await asyncio.to_thread(fh.read, CHUNK):
                yield make(data=piece)
        finally:
            fh.close()
    finally:
        os.unlink(path)
