"""Installation reports (F17) over gRPC on a known data set: summary totals, search
filters and paging, and the .xlsx exports opened back with openpyxl."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import io
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import openpyxl
import psycopg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from google.protobuf.timestamp_pb2 import Timestamp

from gateways.rest.app import build_app
from gateways.rest.settings import RestSettings
from rcs.common.v1 import status_pb2
from rcs.core.v1 import auth_service_pb2_grpc, report_service_pb2_grpc
from rcs.core.v1 import report_service_pb2 as rs
from rcs_core.auth.servicer import AuthServicer
from rcs_core.traffic_reports.servicer import ReportServicer
from rcs_runtime.grpc_client import open_channel
from rcs_runtime.replica import ReadPools
from tests.support import start_server, upsert_admin

pytestmark = pytest.mark.integration

D = rs.SummaryDimension
TODAY = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
YESTERDAY = TODAY - dt.timedelta(days=1)

# (day, partner, destination, sender, status, interface, parts): 10 MT messages.
MT_ROWS = [
    (YESTERDAY, "alpha", "79001000001", "ShopA", 3, "if-mts", 1),
    (YESTERDAY, "alpha", "79001000002", "ShopA", 3, "if-mts", 2),
    (YESTERDAY, "alpha", "79001000001", "ShopA", 4, "if-mts", 1),
    (YESTERDAY, "beta", "79002000001", "BankB", 3, "if-bee", 1),
    (YESTERDAY, "beta", "79002000002", "BankB", 6, None, 0),
    (TODAY, "alpha", "79001000001", "ShopA", 3, "if-mts", 3),
    (TODAY, "alpha", "79001000003", "Promo", 2, "if-mts", 1),
    (TODAY, "beta", "79002000001", "BankB", 3, "if-bee", 1),
    (TODAY, "beta", "79002000001", "BankB", 5, "if-bee", 1),
    (TODAY, "beta", "79002000003", "BankB", 1, None, 0),
]


def seed_report_data(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for login in ("alpha", "beta"):
            conn.execute("INSERT INTO partners (login, password_hash) VALUES (%s, 'x')", (login,))
        for op, op_iface in (("MTS", "if-mts"), ("Beeline", "if-bee")):
            conn.execute("INSERT INTO operators (name) VALUES (%s)", (op,))
            conn.execute(
                "INSERT INTO interfaces (id, host, port, system_id, password)"
                " VALUES (%s, '127.0.0.1', 2775, 'rcs', 'pw')",
                (op_iface,),
            )
            conn.execute(
                "INSERT INTO operator_routes (operator_id, interface_id)"
                " SELECT id, %s FROM operators WHERE name = %s",
                (op_iface, op),
            )
        for i, (day, login, dest, sender, status, iface, parts) in enumerate(MT_ROWS):
            at = day + dt.timedelta(hours=10, minutes=i)
            conn.execute(
                "INSERT INTO messages (id, created_at, partner_id, channel, destination, sender,"
                " body, valid_until, receipt_request, status, status_at, interface_id,"
                " part_count)"
                " SELECT %s, %s, id, 1, %s, %s, %s, %s, 0, %s, %s, %s, %s"
                " FROM partners WHERE login = %s",
                (1000 + i, at, dest, sender, f"text {i}", at + dt.timedelta(days=1), status,
                 at, iface, parts, login),
            )  # fmt: skip
        # One MO message to alpha's number, today, through MTS.
        conn.execute(
            "INSERT INTO inbound_messages (id, received_at, interface_id, source, destination,"
            " body, part_count, partner_id, route)"
            " SELECT 2000, %s, 'if-mts', '79001000001', '7000', 'STOP', 1, id, 'r'"
            " FROM partners WHERE login = 'alpha'",
            (TODAY + dt.timedelta(hours=11),),
        )


@pytest.fixture
async def core_port(pool: Any, database_url: str) -> AsyncIterator[int]:
    seed_report_data(database_url)
    reads = ReadPools(pool, None)
    server = await start_server(
        lambda s: report_service_pb2_grpc.add_ReportServiceServicer_to_server(
            ReportServicer(reads, zone="UTC"), s
        ),
        lambda s: auth_service_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(pool), s),
    )
    yield server.port
    await server.stop(0)


@pytest.fixture
async def stub(core_port: int) -> AsyncIterator[Any]:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{core_port}")
    yield report_service_pb2_grpc.ReportServiceStub(channel)
    await channel.close()


async def _cli(port: int, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rcs_cli",
        "report",
        *args,
        env={**os.environ, "RCS_CORE_TARGET": f"127.0.0.1:{port}"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def _ts(at: dt.datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(at)
    return t


async def test_summary_totals_by_partner_and_day(stub: Any) -> None:
    answer = await stub.Summarize(
        rs.SummarizeRequest(group_by=[D.SUMMARY_DIMENSION_PARTNER, D.SUMMARY_DIMENSION_DAY])
    )
    got = {(r.partner, r.day): (r.messages, r.parts) for r in answer.rows}
    y, t = YESTERDAY.date().isoformat(), TODAY.date().isoformat()
    # Parts: a message not yet split (part_count 0) counts as one.
    assert got == {
        ("alpha", y): (3, 4),
        ("alpha", t): (3, 5),  # 2 MT + 1 MO
        ("beta", y): (2, 2),
        ("beta", t): (3, 3),
    }
    assert (answer.total_messages, answer.total_parts) == (11, 14)
    assert answer.from_replica is False


async def test_summary_by_operator_direction_status(stub: Any) -> None:
    answer = await stub.Summarize(
        rs.SummarizeRequest(
            group_by=[
                D.SUMMARY_DIMENSION_OPERATOR,
                D.SUMMARY_DIMENSION_DIRECTION,
                D.SUMMARY_DIMENSION_STATUS,
            ]
        )
    )
    got = {(r.operator, r.direction, r.status): r.messages for r in answer.rows}
    assert got == {
        ("", rs.MESSAGE_DIRECTION_MT, 1): 1,
        ("", rs.MESSAGE_DIRECTION_MT, 6): 1,
        ("Beeline", rs.MESSAGE_DIRECTION_MT, 3): 2,
        ("Beeline", rs.MESSAGE_DIRECTION_MT, 5): 1,
        ("MTS", rs.MESSAGE_DIRECTION_MT, 2): 1,
        ("MTS", rs.MESSAGE_DIRECTION_MT, 3): 3,
        ("MTS", rs.MESSAGE_DIRECTION_MT, 4): 1,
        ("MTS", rs.MESSAGE_DIRECTION_MO, 0): 1,
    }
    channels = await stub.Summarize(rs.SummarizeRequest(group_by=[D.SUMMARY_DIMENSION_CHANNEL]))
    assert [(r.channel, r.messages) for r in channels.rows] == [(1, 11)]


async def test_summary_filters_and_refusals(stub: Any) -> None:
    f = rs.ReportFilter(
        partner="beta", statuses=[status_pb2.MESSAGE_STATUS_DELIVERED], since=_ts(TODAY)
    )
    answer = await stub.Summarize(rs.SummarizeRequest(filter=f))
    assert [(r.messages, r.parts) for r in answer.rows] == [(1, 1)]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Summarize(rs.SummarizeRequest(group_by=[D.SUMMARY_DIMENSION_UNSPECIFIED]))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "summary dimension" in (err.value.details() or "")


async def test_search_filters_and_pages_chronologically(stub: Any) -> None:
    f = rs.ReportFilter(partner="alpha", direction=rs.MESSAGE_DIRECTION_MT)
    first = await stub.SearchMessages(rs.SearchMessagesRequest(filter=f, page_size=3))
    assert [m.message_id for m in first.messages] == ["1000", "1001", "1002"]
    assert first.next_page_token
    second = await stub.SearchMessages(
        rs.SearchMessagesRequest(filter=f, page_size=3, page_token=first.next_page_token)
    )
    assert [m.message_id for m in second.messages] == ["1005", "1006"]
    assert second.next_page_token == ""
    m = second.messages[1]
    assert (m.partner, m.operator, m.number, m.sender, m.status, m.text) == (
        "alpha", "MTS", "79001000003", "Promo", 2, "text 6",
    )  # fmt: skip
    assert m.at.ToDatetime(tzinfo=dt.UTC) == TODAY + dt.timedelta(hours=10, minutes=6)

    by_number = await stub.SearchMessages(
        rs.SearchMessagesRequest(filter=rs.ReportFilter(number="79001000001"))
    )
    assert [(m.message_id, m.direction) for m in by_number.messages] == [
        ("1000", rs.MESSAGE_DIRECTION_MT),
        ("1002", rs.MESSAGE_DIRECTION_MT),
        ("1005", rs.MESSAGE_DIRECTION_MT),
        ("2000", rs.MESSAGE_DIRECTION_MO),
    ]
    window = rs.ReportFilter(
        sender="BankB",
        statuses=[status_pb2.MESSAGE_STATUS_DELIVERED, status_pb2.MESSAGE_STATUS_EXPIRED],
        since=_ts(TODAY),
        until=_ts(TODAY + dt.timedelta(days=1)),
    )
    found = await stub.SearchMessages(rs.SearchMessagesRequest(filter=window))
    assert [m.message_id for m in found.messages] == ["1007", "1008"]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.SearchMessages(rs.SearchMessagesRequest(page_token="garbage!"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def _workbook(stream: Any) -> tuple[Any, list[int]]:
    data = bytearray()
    progress: list[int] = []
    async for chunk in stream:
        if chunk.WhichOneof("chunk") == "rows_done":
            assert not data, "progress comes before the file"
            progress.append(chunk.rows_done)
        else:
            data += chunk.data
    return openpyxl.load_workbook(io.BytesIO(bytes(data)), read_only=True), progress


async def test_search_export_opens_with_the_right_rows(stub: Any) -> None:
    book, progress = await _workbook(
        stub.ExportSearch(rs.ExportSearchRequest(filter=rs.ReportFilter(partner="beta")))
    )
    assert progress[0] == 0
    assert progress[-1] == 5
    rows = list(book["messages"].iter_rows(values_only=True))
    assert rows[0][:3] == ("Time (UTC)", "Message id", "Direction")
    assert [r[1] for r in rows[1:]] == ["1003", "1004", "1007", "1008", "1009"]
    first = rows[1]
    assert first[0] == (YESTERDAY + dt.timedelta(hours=10, minutes=3)).replace(tzinfo=None)
    assert first[2:10] == ("MT", "beta", "Beeline", "SMS", "79002000001", "BankB", "DELIVERED", 0)


async def test_summary_export_opens_with_the_totals(stub: Any) -> None:
    request = rs.SummarizeRequest(
        group_by=[D.SUMMARY_DIMENSION_PARTNER, D.SUMMARY_DIMENSION_STATUS]
    )
    book, _ = await _workbook(stub.ExportSummary(rs.ExportSummaryRequest(summary=request)))
    rows = list(book["summary"].iter_rows(values_only=True))
    assert rows[0] == ("Partner", "Status", "Messages", "Parts")
    assert ("alpha", "DELIVERED", 3, 6) in rows
    assert ("alpha", None, 1, 1) in rows  # the MO message: no status
    assert sum(r[2] for r in rows[1:]) == 11


async def test_cli_summary_table_and_search_export(core_port: int, tmp_path: Path) -> None:
    code, out, err = await _cli(core_port, "summary", "--group-by", "partner", "--direction", "mt")
    assert code == 0, err
    lines = [line.split() for line in out.splitlines()]
    assert lines == [
        ["partner", "messages", "parts"],
        ["alpha", "5", "8"],
        ["beta", "5", "5"],
        ["total", "10", "13"],
    ]
    assert "(read from the master)" in err

    path = tmp_path / "alpha.xlsx"
    code, out, err = await _cli(
        core_port, "search", "--partner", "alpha", "--status", "delivered", "--xlsx", str(path)
    )
    assert code == 0, err
    assert out.strip() == f"{path}: 3 rows"
    assert "rows written: 3" in err
    book = openpyxl.load_workbook(path, read_only=True)
    ids = [r[1] for r in book["messages"].iter_rows(min_row=2, values_only=True)]
    assert ids == ["1000", "1001", "1005"]

    code, _, err = await _cli(core_port, "search", "--status", "lost")
    assert code == 2
    assert "status 'lost': use one of accepted" in err


async def test_admin_api_summary_search_and_xlsx(core_port: int, database_url: str) -> None:
    await upsert_admin(database_url, "root", "correct horse")
    root = {"Authorization": "Basic " + base64.b64encode(b"root:correct horse").decode()}
    channel = open_channel(f"127.0.0.1:{core_port}")
    client: TestClient[web.Request, web.Application] = TestClient(
        TestServer(build_app(RestSettings(), channel), host="127.0.0.1")
    )
    await client.start_server()
    try:
        base = "/api/admin/v1/reports"
        denied = await client.get(f"{base}/summary")
        assert denied.status == 401
        got = await client.get(f"{base}/summary?groupBy=status&partner=beta", headers=root)
        body = await got.json()
        assert got.status == 200, body
        assert body["totalMessages"] == "5"
        assert {r["status"]: r["messages"] for r in body["rows"]}["MESSAGE_STATUS_DELIVERED"] == "2"

        page = await client.get(
            f"{base}/messages?number=79002000001&status=DELIVERED&pageSize=1", headers=root
        )
        body = await page.json()
        assert [m["messageId"] for m in body["messages"]] == ["1003"]
        assert body["nextPageToken"]

        bad = await client.get(f"{base}/summary?groupBy=weather", headers=root)
        assert bad.status == 400
        assert "groupBy 'weather'" in await bad.text()

        export = await client.get(f"{base}/messages?sender=ShopA&format=xlsx", headers=root)
        assert export.status == 200
        assert export.headers["Content-Type"].startswith("application/vnd.openxmlformats")
        book = openpyxl.load_workbook(io.BytesIO(await export.read()), read_only=True)
        ids = [r[1] for r in book["messages"].iter_rows(min_row=2, values_only=True)]
        assert ids == ["1000", "1001", "1002", "1005"]
    finally:
        await client.close()
        await channel.close()
