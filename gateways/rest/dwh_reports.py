"""The DWH's reports on the admin API (`/api/admin/v1/dwh/reports:…`): a thin face on
DwhReportService at RCS_DWH_TARGET, for administrators (HTTP Basic). Bodies and answers
are the rcs.dwh.v1 messages in protobuf's JSON mapping; `:export` answers the .xlsx file,
streamed as the DWH sends it."""

from __future__ import annotations

import json
from typing import TypeVar

import grpc
from aiohttp import hdrs, web
from google.protobuf import json_format
from google.protobuf.message import Message

from gateways.rest.admin import ADMIN, PREFIX
from gateways.rest.errors import json_response
from gateways.rest.observability import PARTNER
from gateways.rest.parsing import parse_basic_auth
from gateways.rpc_errors import rcs_error
from rcs.dwh.v1 import dwh_report_service_pb2 as pb
from rcs.dwh.v1 import dwh_report_service_pb2_grpc as pb_grpc
from rcs_runtime.errors import RcsError, Reason

M = TypeVar("M", bound=Message)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REPORTS = f"{PREFIX}/dwh/reports"
# Reports read the whole period: a longer deadline than settings calls.
TIMEOUT_SECONDS = 300.0


class DwhReports:
    def __init__(self, channel: grpc.aio.Channel | None) -> None:
        """``channel`` leads to rcs_dwh; None: the routes answer that none is configured."""
        self.stub: pb_grpc.DwhReportServiceAsyncStub | None = (
            pb_grpc.DwhReportServiceStub(channel) if channel is not None else None
        )


DWH = web.AppKey("dwh_reports", DwhReports)


async def _stub(request: web.Request) -> pb_grpc.DwhReportServiceAsyncStub:
    login, password = parse_basic_auth(request.headers.get(hdrs.AUTHORIZATION))
    request[PARTNER] = f"admin:{login}"
    await request.app[ADMIN].auth.authenticate(login, password, request.remote or "")
    stub = request.app[DWH].stub
    if stub is None:
        raise RcsError(
            Reason.SERVICE_UNAVAILABLE, "this gateway has no DWH configured: set RCS_DWH_TARGET"
        )
    return stub


async def _body(request: web.Request, message: M) -> M:
    try:
        json_format.ParseDict(json.loads(await request.read() or b"{}"), message)
    except (ValueError, json_format.ParseError) as exc:
        raise RcsError(Reason.INVALID_REQUEST, f"the body does not fit the API: {exc}") from exc
    return message


def _answer(message: Message) -> web.Response:
    return json_response(
        json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
    )


async def summary(request: web.Request) -> web.StreamResponse:
    stub = await _stub(request)
    body = await _body(request, pb.GetSummaryReportRequest())
    try:
        return _answer(await stub.GetSummaryReport(body, timeout=TIMEOUT_SECONDS))
    except grpc.aio.AioRpcError as err:
        raise rcs_error(err) from err


async def chronological(request: web.Request) -> web.StreamResponse:
    stub = await _stub(request)
    body = await _body(request, pb.GetChronologicalReportRequest())
    try:
        return _answer(await stub.GetChronologicalReport(body, timeout=TIMEOUT_SECONDS))
    except grpc.aio.AioRpcError as err:
        raise rcs_error(err) from err


async def financial(request: web.Request) -> web.StreamResponse:
    stub = await _stub(request)
    body = await _body(request, pb.GetFinancialReportRequest())
    try:
        return _answer(await stub.GetFinancialReport(body, timeout=TIMEOUT_SECONDS))
    except grpc.aio.AioRpcError as err:
        raise rcs_error(err) from err


async def export(request: web.Request) -> web.StreamResponse:
    stub = await _stub(request)
    body = await _body(request, pb.ExportReportRequest())
    call = stub.ExportReport(body, timeout=TIMEOUT_SECONDS)
    try:
        # The first chunk before the headers: a refusal still gets a JSON error answer.
        first = await call.read()
    except grpc.aio.AioRpcError as err:
        raise rcs_error(err) from err
    kind = pb.ReportKind.Name(body.kind).removeprefix("REPORT_KIND_").lower()
    response = web.StreamResponse(
        headers={
            hdrs.CONTENT_TYPE: XLSX,
            hdrs.CONTENT_DISPOSITION: f'attachment; filename="{kind}.xlsx"',
        }
    )
    await response.prepare(request)
    # read() to the end (grpc.aio refuses read() and iteration on one call).
    part = first
    while isinstance(part, pb.ExportReportResponse):
        await response.write(part.chunk)
        part = await call.read()
    await response.write_eof()
    return response


def add_dwh_routes(app: web.Application, reports: DwhReports) -> None:
    app[DWH] = reports
    app.router.add_post(f"{REPORTS}:summary", summary, name="admin_dwh_summary")
    app.router.add_post(f"{REPORTS}:chronological", chronological, name="admin_dwh_chrono")
    app.router.add_post(f"{REPORTS}:financial", financial, name="admin_dwh_financial")
    app.router.add_post(f"{REPORTS}:export", export, name="admin_dwh_export")
