"""MO over core's gRPC and real PostgreSQL: parts kept until their siblings come (in any
order, over several calls), whole messages routed by number and keyword, and owed to the
route's partner as reports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import settings_service_pb2 as ss
from rcs.core.v1 import settings_service_pb2_grpc
from rcs_core.settings.servicer import SettingsServicer
from rcs_runtime.grpc_client import open_channel
from tests.core_services import CoreServices, CoreStubs
from tests.support import start_server

pytestmark = pytest.mark.integration
ADMIN = ss.Actor(login="admin", remote_ip="10.0.0.5")


@pytest.fixture
async def core(pool: Any) -> AsyncIterator[Any]:
    servicer = CoreServices(pool, installation_id=7)
    server = await start_server(
        servicer.register,
        lambda s: settings_service_pb2_grpc.add_SettingsServiceServicer_to_server(
            SettingsServicer(pool), s
        ),
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    settings = settings_service_pb2_grpc.SettingsServiceStub(channel)
    for login, url in (("shop", ""), ("bank", "https://bank.test/mo")):
        await settings.CreatePartner(
            ss.CreatePartnerRequest(
                actor=ADMIN, partner=ss.Partner(login=login, inbound_url=url), password="pw"
            )
        )
    for name, number, keyword, partner, format_ in (
        ("shop-all", "4444", "", "shop", ms.REPORT_FORMAT_SMPP),
        ("bank-balance", "4444", "balance|баланс", "bank", ms.REPORT_FORMAT_REST_V6),
        ("bank-http", "5555", "", "bank", ms.REPORT_FORMAT_HTTP_V5),
        ("shop-http-no-url", "6666", "", "shop", ms.REPORT_FORMAT_HTTP_V5),
    ):
        route = ss.InboundRoute(
            name=name, number=number, keyword=keyword, partner=partner, format=format_
        )
        await settings.PutInboundRoute(ss.PutInboundRouteRequest(actor=ADMIN, route=route))
    yield CoreStubs(channel)
    await channel.close()
    await server.stop(0)
    await servicer.close()


def part(text: str, dest: str = "4444", **kw: Any) -> ms.InboundPart:
    coding = kw.pop("data_coding", 8)
    payload = text.encode("utf-16-be") if coding == 8 else text.encode("ascii")
    return ms.InboundPart(
        interface_id="smsc-a",
        source="79161234567",
        destination=dest,
        data_coding=coding,
        payload=payload,
        **kw,
    )


async def rows(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute(sql)
        return await cur.fetchall()


async def test_whole_message_goes_to_the_number_owner_as_an_smpp_report(core: Any) -> None:
    resp = await core.delivery.RecordInbound(ms.RecordInboundRequest(parts=[part("hello shop")]))
    (result,) = resp.results
    assert result.partner == "shop"
    assert result.message_id
    (report,) = (
        await core.leases.LeaseReports(
            ms.LeaseReportsRequest(partner="shop", format=ms.REPORT_FORMAT_SMPP)
        )
    ).reports
    assert report.kind == ms.REPORT_KIND_INBOUND
    assert report.message_id == result.message_id
    assert (report.sender, report.destination, report.text) == ("79161234567", "4444", "hello shop")
    assert report.part_count == 1


async def test_keyword_route_wins_over_the_catch_all(core: Any, database_url: str) -> None:
    resp = await core.delivery.RecordInbound(
        ms.RecordInboundRequest(
            parts=[part("  БАЛАНС please"), part("balance", dest="+4444"), part("other")]
        )
    )
    assert [r.partner for r in resp.results] == ["bank", "bank", "shop"]
    got = await rows(
        database_url, "SELECT format, url FROM report_outbox WHERE kind = 2 ORDER BY id"
    )
    assert got == [(3, "https://bank.test/mo"), (3, "https://bank.test/mo"), (1, "")]


async def test_parts_wait_for_their_siblings_in_any_order(core: Any, database_url: str) -> None:
    text = "Длинный ответ абонента, " * 8
    chunks = [text[i : i + 67] for i in range(0, len(text), 67)]
    assert len(chunks) == 3

    def nth(n: int) -> ms.InboundPart:
        return part(chunks[n - 1], reference=42, part_number=n, part_total=3)

    first = await core.delivery.RecordInbound(ms.RecordInboundRequest(parts=[nth(3), nth(1)]))
    assert [r.message_id for r in first.results] == ["", ""]
    assert len(await rows(database_url, "SELECT 1 FROM inbound_parts")) == 2
    resent = await core.delivery.RecordInbound(
        ms.RecordInboundRequest(parts=[nth(1)])
    )  # a redelivery
    assert resent.results[0].message_id == ""
    last = await core.delivery.RecordInbound(ms.RecordInboundRequest(parts=[nth(2)]))
    (done,) = last.results
    assert done.partner == "shop"
    assert await rows(database_url, "SELECT 1 FROM inbound_parts") == []
    stored = await rows(database_url, "SELECT body, part_count FROM inbound_messages")
    assert stored == [(text, 3)]


async def test_unrouted_and_url_less_messages_are_kept_without_a_report(
    core: Any, database_url: str
) -> None:
    resp = await core.delivery.RecordInbound(
        ms.RecordInboundRequest(parts=[part("who?", dest="9999"), part("x", dest="6666")])
    )
    assert [r.partner for r in resp.results] == ["", "shop"]
    assert all(r.message_id for r in resp.results)
    assert len(await rows(database_url, "SELECT 1 FROM inbound_messages")) == 2
    assert await rows(database_url, "SELECT 1 FROM report_outbox") == []


async def test_http_v5_route_and_a_repeated_request(core: Any, database_url: str) -> None:
    request = ms.RecordInboundRequest(
        request_id="mo-1", parts=[part("hi", dest="5555", data_coding=0)]
    )
    first = await core.delivery.RecordInbound(request)
    again = await core.delivery.RecordInbound(request)
    assert first == again
    assert len(await rows(database_url, "SELECT 1 FROM inbound_messages")) == 1
    got = await rows(database_url, "SELECT format, url, body->>'text' FROM report_outbox")
    assert got == [(2, "https://bank.test/mo", "hi")]
