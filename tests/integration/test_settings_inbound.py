"""Inbound routes (MO) through SettingsService over real gRPC and PostgreSQL: versioned,
listed, refused with a reason, replayed, rolled back; and routed by as stored."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
import psycopg
import pytest

from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import settings_service_pb2 as ss
from rcs.core.v1 import settings_service_pb2_grpc
from rcs_core.settings.servicer import SettingsServicer
from rcs_runtime.grpc_client import error_reason, open_channel
from tests.core_services import CoreServices, CoreStubs
from tests.support import start_server

pytestmark = pytest.mark.integration
ADMIN = ss.Actor(login="admin", remote_ip="10.0.0.5")
SMPP, HTTP_V5, REST_V6 = ms.REPORT_FORMAT_SMPP, ms.REPORT_FORMAT_HTTP_V5, ms.REPORT_FORMAT_REST_V6


@pytest.fixture
async def settings(pool: Any) -> AsyncIterator[Any]:
    server = await start_server(
        lambda s: settings_service_pb2_grpc.add_SettingsServiceServicer_to_server(
            SettingsServicer(pool), s
        )
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    stub = settings_service_pb2_grpc.SettingsServiceStub(channel)
    for login in ("shop", "bank"):
        await stub.CreatePartner(
            ss.CreatePartnerRequest(actor=ADMIN, partner=ss.Partner(login=login), password="pw")
        )
    yield stub
    await channel.close()
    await server.stop(0)


def put(name: str, number: str = "4444", keyword: str = "", **fields: Any) -> Any:
    return ss.PutInboundRouteRequest(
        actor=ADMIN,
        request_id=fields.pop("request_id", ""),
        route=ss.InboundRoute(
            name=name,
            number=number,
            keyword=keyword,
            partner=fields.pop("partner", "shop"),
            format=fields.pop("format", SMPP),
            unavailable_text=fields.pop("unavailable_text", ""),
            timeout_seconds=fields.pop("timeout_seconds", 0),
            **fields,  # the session fields
        ),
    )


async def fetch(dsn: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute(sql, args)
        return await cur.fetchall()


async def refused(call: Any, request: Any, reason: str = "INVALID_REQUEST") -> str:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call(request)
    assert error_reason(err.value) == reason, err.value.details()
    return err.value.details() or ""


ROUTES = "SELECT name, number, keyword, partner, format FROM inbound_routes ORDER BY name"


async def test_inbound_route_is_versioned_listed_replayed_and_deleted(
    settings: Any, database_url: str
) -> None:
    first = await settings.PutInboundRoute(put("shop-all", "+4444", request_id="r-1"))
    assert first.revision > 0
    assert first.route.number == "4444"  # stored as messages are matched: no "+"
    assert await settings.PutInboundRoute(put("shop-all", "+4444", request_id="r-1")) == first
    assert (await settings.PutInboundRoute(put("shop-all"))).revision == 0  # unchanged
    changes = (
        await fetch(
            database_url,
            "SELECT changes FROM settings_revisions WHERE revision = %s",
            first.revision,
        )
    )[0][0]
    assert changes == [
        {
            "entity": "inbound_route",
            "key": "shop-all",
            "before": None,
            "after": {
                "name": "shop-all",
                "number": "4444",
                "keyword": "",
                "partner": "shop",
                "format": 1,
                "unavailable_text": "",
                "timeout_seconds": 0,
                "session_keyword": "",
                "session_close_keyword": "",
                "session_seconds": 0,
                "session_open_text": "",
                "session_close_text": "",
                "session_expired_text": "",
            },
        }
    ]
    audit = await fetch(
        database_url, "SELECT actor, remote_ip FROM audit_log WHERE revision = %s", first.revision
    )
    assert audit == [("admin", "10.0.0.5")]

    await settings.PutInboundRoute(
        put("bank-balance", keyword="balance|баланс", partner="bank", format=REST_V6)
    )
    await settings.PutInboundRoute(put("bank-http", "5555", partner="bank", format=HTTP_V5))
    page = await settings.ListInboundRoutes(ss.ListInboundRoutesRequest(page_size=2))
    assert [r.name for r in page.routes] == ["bank-balance", "bank-http"]
    assert page.routes[0].format == REST_V6
    rest = await settings.ListInboundRoutes(
        ss.ListInboundRoutesRequest(page_size=2, page_token=page.next_page_token)
    )
    assert ([r.name for r in rest.routes], rest.next_page_token) == (["shop-all"], "")

    deleted = await settings.DeleteInboundRoute(
        ss.DeleteInboundRouteRequest(actor=ADMIN, name="bank-http")
    )
    assert deleted.revision > 0
    await refused(
        settings.DeleteInboundRoute,
        ss.DeleteInboundRouteRequest(actor=ADMIN, name="bank-http"),
        "NOT_FOUND",
    )
    assert [r[0] for r in await fetch(database_url, ROUTES)] == ["bank-balance", "shop-all"]


async def test_bad_inbound_routes_are_refused_saying_why(settings: Any, database_url: str) -> None:
    await settings.PutInboundRoute(put("shop-all"))
    await settings.PutInboundRoute(put("shop-stop", keyword="stop"))
    cases = {
        "name: 1-64": put("bad name"),
        "number: 1-21 characters": put("long", "1" * 22),
        "number: 1-21": put("empty", "+"),
        "missing ), unterminated subpattern at position 3": put("re", keyword="buy(now"),
        "unbalanced parenthesis at position 1": put("re", keyword="a)b"),
        "global flags not at the start of the expression at position 0": put(
            "re", keyword="(?i)balance"
        ),
        "unknown partner 'ghost'": put("ghost", "7777", partner="ghost"),
        "a route needs its partner": put("nobody", "7777", partner=""),
        "format must be": put("batch", "7777", format=ms.REPORT_FORMAT_BATCH_V3),
        "REPORT_FORMAT_SMPP": put("pull", "7777", format=ms.REPORT_FORMAT_UNSPECIFIED),
        "unavailable_text: at most 2000": put("chatty", "7777", unavailable_text="x" * 2001),
        "timeout_seconds: 1-60": put("patient", "7777", timeout_seconds=61),
        "session_keyword 'quiz(' is not a regular expression (Python syntax): missing ),"
        " unterminated subpattern at position 4": put(
            "s", "7777", session_keyword="quiz(", session_seconds=60
        ),
        "session_close_keyword 'stop)' is not a regular expression (Python syntax):"
        " unbalanced parenthesis at position 4": put(
            "s", "7777", session_keyword="quiz", session_close_keyword="stop)", session_seconds=60
        ),
        "session_keyword is at most 200 characters": put(
            "s", "7777", session_keyword="q" * 201, session_seconds=60
        ),
        "a session_keyword needs session_seconds (1-86400)": put(
            "s", "7777", session_keyword="quiz"
        ),
        "session_seconds: 1-86400": put("s", "7777", session_keyword="quiz", session_seconds=86401),
        "session_close_text works only with a session_keyword": put(
            "s", "7777", session_close_text="Bye"
        ),
        "session_seconds works only with a session_keyword": put("s", "7777", session_seconds=60),
        "session_expired_text: at most 2000": put(
            "s", "7777", session_keyword="quiz", session_seconds=60, session_expired_text="x" * 2001
        ),
        "'shop-all' already takes number '4444' with no keyword": put("again", "+4444"),
        "'shop-stop' already takes number '4444' with keyword 'stop'": put("x", keyword="stop"),
    }
    for expected, request in cases.items():
        assert expected in await refused(settings.PutInboundRoute, request)
    assert [r[0] for r in await fetch(database_url, ROUTES)] == ["shop-all", "shop-stop"]
    # The same pair on the same route is a change of that route, not a clash.
    moved = await settings.PutInboundRoute(put("shop-stop", keyword="stop", partner="bank"))
    assert moved.route.partner == "bank"


async def test_http_route_without_partner_url_is_allowed(settings: Any) -> None:
    """A partner without inbound_url may still own an HTTP route: its MO is kept and logged
    (README) until the URL is set."""
    put_ = await settings.PutInboundRoute(put("shop-http", "6666", format=HTTP_V5))
    assert put_.route.format == HTTP_V5


async def test_rollback_restores_inbound_routes_even_when_they_swapped_numbers(
    settings: Any, database_url: str
) -> None:
    base = (await settings.PutInboundRoute(put("a", "4444"))).revision
    await settings.PutInboundRoute(put("b", "5555", partner="bank", format=REST_V6))
    # a moves to 6666, then b takes 4444, then a takes 5555: a and b swapped their numbers.
    await settings.PutInboundRoute(put("a", "6666"))
    await settings.PutInboundRoute(put("b", "4444", partner="bank", format=REST_V6))
    await settings.PutInboundRoute(put("a", "5555"))
    await settings.PutInboundRoute(put("c", "7777"))
    assert await fetch(database_url, ROUTES) == [
        ("a", "5555", "", "shop", 1),
        ("b", "4444", "", "bank", 3),
        ("c", "7777", "", "shop", 1),
    ]
    undo = await settings.RollbackSettings(ss.RollbackSettingsRequest(actor=ADMIN, revision=base))
    assert undo.changed_count == 3  # a put back, b and c removed
    assert await fetch(database_url, ROUTES) == [("a", "4444", "", "shop", 1)]
    redo = await settings.RollbackSettings(
        ss.RollbackSettingsRequest(actor=ADMIN, revision=undo.revision - 1)
    )
    assert redo.changed_count == 3
    assert [r[:2] for r in await fetch(database_url, ROUTES)] == [
        ("a", "5555"),
        ("b", "4444"),
        ("c", "7777"),
    ]
    revisions = (await settings.ListRevisions(ss.ListRevisionsRequest(page_size=1))).revisions
    assert {c["key"] for c in json.loads(revisions[0].changes_json)} == {"a", "b", "c"}


async def test_rollback_refuses_a_pair_taken_outside_the_settings_api(
    settings: Any, database_url: str
) -> None:
    base = (await settings.PutInboundRoute(put("a", "4444"))).revision
    await settings.DeleteInboundRoute(ss.DeleteInboundRouteRequest(actor=ADMIN, name="a"))
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await conn.execute(
            "INSERT INTO inbound_routes (name, number, keyword, partner, format)"
            " VALUES ('by-sql', '4444', '', 'bank', 1)"
        )
        await conn.commit()
    details = await refused(
        settings.RollbackSettings, ss.RollbackSettingsRequest(actor=ADMIN, revision=base)
    )
    assert "same number and keyword" in details
    assert [r[0] for r in await fetch(database_url, ROUTES)] == ["by-sql"]


async def test_routes_put_through_the_api_route_messages(pool: Any, settings: Any) -> None:
    await settings.PutInboundRoute(put("shop-all", "+4444"))
    await settings.PutInboundRoute(
        put("bank-balance", keyword=r"balance|баланс\b", partner="bank", format=REST_V6)
    )
    messages = CoreServices(pool, installation_id=7)
    server = await start_server(messages.register)
    channel = open_channel(f"127.0.0.1:{server.port}")
    try:
        core = CoreStubs(channel)
        texts = ["  БАЛАНС?", "Balance", "hello", "балансир"]
        resp = await core.delivery.RecordInbound(
            ms.RecordInboundRequest(
                parts=[
                    ms.InboundPart(
                        interface_id="smsc-a",
                        source="79161234567",
                        destination="4444",
                        data_coding=8,
                        payload=t.encode("utf-16-be"),
                    )
                    for t in texts
                ]
            )
        )
        assert [r.partner for r in resp.results] == ["bank", "bank", "shop", "shop"]
    finally:
        await channel.close()
        await server.stop(0)
        await messages.close()


async def test_the_unavailable_text_is_kept_and_rolled_back(
    settings: Any, database_url: str
) -> None:
    text = "Сервис временно недоступен"
    await settings.PutInboundRoute(put("shop-all", format=ms.REPORT_FORMAT_HTTP_V5))
    changed = await settings.PutInboundRoute(
        put("shop-all", format=ms.REPORT_FORMAT_HTTP_V5, unavailable_text=text)
    )
    assert changed.route.unavailable_text == text
    listed = await settings.ListInboundRoutes(ss.ListInboundRoutesRequest())
    assert [r.unavailable_text for r in listed.routes] == [text]
    await settings.RollbackSettings(
        ss.RollbackSettingsRequest(actor=ADMIN, revision=changed.revision - 1)
    )
    assert await fetch(database_url, "SELECT unavailable_text FROM inbound_routes") == [("",)]


SESSION: dict[str, Any] = {
    "session_keyword": "quiz|викторина",
    "session_close_keyword": "stop|стоп",
    "session_seconds": 600,
    "session_open_text": "Вы в викторине",
    "session_close_text": "Викторина закрыта",
    "session_expired_text": "Время викторины истекло",
}
SESSION_COLUMNS = (
    "SELECT session_keyword, session_close_keyword, session_seconds, session_open_text,"
    " session_close_text, session_expired_text FROM inbound_routes"
)


async def test_the_session_fields_are_kept_listed_and_rolled_back(
    settings: Any, database_url: str
) -> None:
    first = await settings.PutInboundRoute(put("quiz", keyword="play"))
    changed = await settings.PutInboundRoute(put("quiz", keyword="play", **SESSION))
    assert changed.revision > first.revision
    assert {k: getattr(changed.route, k) for k in SESSION} == SESSION
    listed = await settings.ListInboundRoutes(ss.ListInboundRoutesRequest())
    assert [{k: getattr(r, k) for k in SESSION} for r in listed.routes] == [SESSION]
    assert await fetch(database_url, SESSION_COLUMNS) == [tuple(SESSION.values())]
    assert (await settings.PutInboundRoute(put("quiz", keyword="play", **SESSION))).revision == 0

    await settings.RollbackSettings(
        ss.RollbackSettingsRequest(actor=ADMIN, revision=first.revision)
    )
    assert await fetch(database_url, SESSION_COLUMNS) == [("", "", 0, "", "", "")]
    await settings.RollbackSettings(
        ss.RollbackSettingsRequest(actor=ADMIN, revision=changed.revision)
    )
    assert await fetch(database_url, SESSION_COLUMNS) == [tuple(SESSION.values())]


async def test_a_revision_from_before_sessions_restores_a_route_without_them(
    settings: Any, database_url: str
) -> None:
    """Revisions written before migration 0021 have no session fields: they stand for none."""
    base = (await settings.PutInboundRoute(put("quiz", keyword="play"))).revision
    gone = await settings.DeleteInboundRoute(ss.DeleteInboundRouteRequest(actor=ADMIN, name="quiz"))
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await conn.execute(  # the deleted route as a revision from before 0021 holds it
            "UPDATE settings_revisions SET changes = jsonb_set(changes, '{0,before}',"
            " (changes->0->'before') - ARRAY['session_keyword', 'session_close_keyword',"
            " 'session_seconds', 'session_open_text', 'session_close_text',"
            " 'session_expired_text']) WHERE revision = %s",
            (gone.revision,),
        )
        await conn.commit()
    undo = await settings.RollbackSettings(ss.RollbackSettingsRequest(actor=ADMIN, revision=base))
    assert undo.changed_count == 1
    assert await fetch(database_url, SESSION_COLUMNS) == [("", "", 0, "", "", "")]
    assert [
        r.session_keyword
        for r in (await settings.ListInboundRoutes(ss.ListInboundRoutesRequest())).routes
    ] == [""]
