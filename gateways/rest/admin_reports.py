"""Installation reports on the admin API (`/api/admin/v1/reports/…`), from core's
ReportService: the traffic summary and the message search as JSON (protobuf's mapping),
or with ``format=xlsx`` as an Excel workbook streamed to the client as core builds it.

Query parameters: ``partner``, ``number``, ``sender``, ``status`` (repeatable, e.g.
DELIVERED), ``since``/``until`` (RFC 3339), ``direction`` (mt|mo); the summary takes
``groupBy`` (comma-separated: partner, operator, direction, channel, status, day), the
search ``pageSize`` and ``pageToken``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import grpc
from aiohttp import web
from multidict import MultiMapping

from gateways.rest.admin import ADMIN, PREFIX, _actor, _answer
from gateways.rpc_errors import rcs_error
from rcs.common.v1 import status_pb2
from rcs.core.v1 import report_service_pb2 as rs
from rcs.core.v1 import report_service_pb2_grpc
from rcs_runtime.errors import RcsError, Reason

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DIMENSIONS = ("partner", "operator", "direction", "channel", "status", "day")


@dataclass(frozen=True)
class Reports:
    stub: Any  # ReportServiceStub on an aio channel (its async type exists only in the .pyi)


REPORTS = web.AppKey("admin_reports", Reports)
# An export of a million rows takes a while; the unary timeout of the admin API does not fit.
EXPORT_TIMEOUT_SECONDS = 3600.0


def _time(q: MultiMapping[str], name: str, f: rs.ReportFilter) -> None:
    text = q.get(name)
    if not text:
        return
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise RcsError(
            Reason.INVALID_REQUEST, f"{name}: an RFC 3339 time, e.g. 2026-01-31T00:00:00Z"
        ) from exc
    getattr(f, name).FromDatetime(at if at.tzinfo else at.replace(tzinfo=dt.UTC))


def report_filter(q: MultiMapping[str]) -> rs.ReportFilter:
    f = rs.ReportFilter(
        partner=q.get("partner", ""), number=q.get("number", ""), sender=q.get("sender", "")
    )
    for s in q.getall("status", []):
        try:
            f.statuses.append(status_pb2.MessageStatus.Value(f"MESSAGE_STATUS_{s.upper()}"))
        except ValueError as exc:
            raise RcsError(
                Reason.INVALID_REQUEST,
                f"status {s!r}: use ACCEPTED, SENT, DELIVERED, UNDELIVERED,"
                " EXPIRED, REJECTED or READ",
            ) from exc
    direction = q.get("direction", "").lower()
    if direction not in ("", "mt", "mo"):
        raise RcsError(Reason.INVALID_REQUEST, "direction: mt or mo")
    f.direction = rs.MessageDirection.Value(
        f"MESSAGE_DIRECTION_{(direction or 'unspecified').upper()}"
    )
    _time(q, "since", f)
    _time(q, "until", f)
    return f


def _group_by(q: MultiMapping[str]) -> list[rs.SummaryDimension.ValueType]:
    out: list[rs.SummaryDimension.ValueType] = []
    for name in filter(None, (p.strip().lower() for p in q.get("groupBy", "").split(","))):
        if name not in DIMENSIONS:
            raise RcsError(Reason.INVALID_REQUEST, f"groupBy {name!r}: use {', '.join(DIMENSIONS)}")
        out.append(rs.SummaryDimension.Value(f"SUMMARY_DIMENSION_{name.upper()}"))
    return out


def _xlsx(q: MultiMapping[str]) -> bool:
    fmt = q.get("format", "json")
    if fmt not in ("json", "xlsx"):
        raise RcsError(Reason.INVALID_REQUEST, "format: json or xlsx")
    return fmt == "xlsx"


async def _stream(request: web.Request, call: Any, name: str) -> web.StreamResponse:
    """The workbook's bytes as core sends them; an error before the first byte is answered
    in the API's error body, one after it cuts the download short."""
    response: web.StreamResponse | None = None
    try:
        async for chunk in call:
            if chunk.WhichOneof("chunk") != "data":
                continue  # progress: the client sees the download grow instead
            if response is None:
                response = web.StreamResponse(
                    headers={
                        "Content-Type": XLSX,
                        "Content-Disposition": f'attachment; filename="{name}.xlsx"',
                    }
                )
                await response.prepare(request)
            await response.write(chunk.data)
    except grpc.aio.AioRpcError as err:
        if response is None:
            raise rcs_error(err) from err
        raise
    if response is None:
        raise RcsError(Reason.INTERNAL, "core sent no workbook")
    await response.write_eof()
    return response


async def summary(request: web.Request) -> web.StreamResponse:
    await _actor(request)
    q = request.query
    body = rs.SummarizeRequest(filter=report_filter(q), group_by=_group_by(q))
    stub = request.app[REPORTS].stub
    if _xlsx(q):
        call = stub.ExportSummary(
            rs.ExportSummaryRequest(summary=body), timeout=EXPORT_TIMEOUT_SECONDS
        )
        return await _stream(request, call, "summary")
    try:
        answer = await stub.Summarize(body, timeout=request.app[ADMIN].timeout)
    except grpc.aio.AioRpcError as err:
        raise rcs_error(err) from err
    return _answer(answer)


async def messages(request: web.Request) -> web.StreamResponse:
    await _actor(request)
    q = request.query
    f = report_filter(q)
    stub = request.app[REPORTS].stub
    if _xlsx(q):
        call = stub.ExportSearch(rs.ExportSearchRequest(filter=f), timeout=EXPORT_TIMEOUT_SECONDS)
        return await _stream(request, call, "messages")
    try:
        size = int(q.get("pageSize", "0"))
    except ValueError as exc:
        raise RcsError(Reason.INVALID_REQUEST, "pageSize must be a number") from exc
    body = rs.SearchMessagesRequest(filter=f, page_size=size, page_token=q.get("pageToken", ""))
    try:
        answer = await stub.SearchMessages(body, timeout=request.app[ADMIN].timeout)
    except grpc.aio.AioRpcError as err:
        raise rcs_error(err) from err
    return _answer(answer)


def add_report_routes(app: web.Application, channel: grpc.aio.Channel) -> None:
    """After add_admin_routes: the same administrators, core on ``channel``."""
    app[REPORTS] = Reports(report_service_pb2_grpc.ReportServiceStub(channel))
    app.router.add_get(f"{PREFIX}/reports/summary", summary, name="admin_report_summary")
    app.router.add_get(f"{PREFIX}/reports/messages", messages, name="admin_report_messages")
