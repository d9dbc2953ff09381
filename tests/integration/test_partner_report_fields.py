"""Report and schedule fields of the three HTTP partner APIs, over real HTTP → real gRPC →
core on real PostgreSQL: what each API's request says about status reports (format, URL,
which statuses, ptag) and scheduled sending (send_after, a deadline's validity) is what
core stores, what GetMessage returns, and what a final status puts in the report outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import psycopg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateways.rest.app import build_app
from gateways.rest.settings import RestSettings
from rcs.core.v1 import auth_service_pb2_grpc, message_service_pb2, message_service_pb2_grpc
from rcs_core.auth import api_keys_store as api_keys
from rcs_core.auth import partners_store as partners
from rcs_core.auth.servicer import AuthServicer
from rcs_core.delivery.finalize import finalize
from rcs_core.messages.servicer import MessageServicer
from rcs_core.messages.statuses import Status
from rcs_runtime.grpc_client import open_channel
from tests.support import start_server

pytestmark = pytest.mark.integration
Client = TestClient[web.Request, web.Application]
MSK = dt.timezone(dt.timedelta(hours=3))
CONFIGURED_URL = "https://partner.test/configured"
DEFAULT_TTL = 86_400


@dataclass
class Env:
    http: Client
    core: message_service_pb2_grpc.MessageServiceAsyncStub
    dsn: str
    key: str  # REST_BATCH API key of acme


@pytest.fixture
async def env(pool: Any, database_url: str) -> AsyncIterator[Env]:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        partner_id = await partners.upsert(
            conn, "acme", "pw-12345", default_sender="ACME", default_ttl_seconds=DEFAULT_TTL
        )
        await conn.execute("UPDATE partners SET report_url = %s", (CONFIGURED_URL,))
        _, key = await api_keys.create(conn, partner_id, "tests")
        await conn.commit()
    messages = MessageServicer(pool, installation_id=7)
    server = await start_server(
        lambda s: message_service_pb2_grpc.add_MessageServiceServicer_to_server(messages, s),
        lambda s: auth_service_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(pool), s),
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    client: Client = TestClient(TestServer(build_app(RestSettings(), channel), host="127.0.0.1"))
    await client.start_server()
    stub: message_service_pb2_grpc.MessageServiceAsyncStub = (
        message_service_pb2_grpc.MessageServiceStub(channel)
    )
    yield Env(client, stub, database_url, key)
    await client.close()
    await channel.close()
    await server.stop(0)
    await messages.close()


async def row(dsn: str, message_id: str) -> dict[str, Any]:
    """The stored message's report and schedule columns, and its queue row's not_before."""
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute(
            "SELECT m.report_format, m.report_url, m.receipt_request, m.ptag, m.send_after,"
            " m.valid_until - m.created_at AS ttl, q.not_before, m.created_at"
            " FROM messages m JOIN dispatch_queue q ON q.message_id = m.id WHERE m.id = %s",
            (int(message_id),),
        )
        assert cur.description is not None
        names = [c.name for c in cur.description]
        found = await cur.fetchone()
        assert found is not None
        return dict(zip(names, found, strict=True))


async def message(env: Env, message_id: str) -> Any:
    answer = await env.core.GetMessage(
        message_service_pb2.GetMessageRequest(message_id=message_id, partner="acme")
    )
    return answer.message


async def outbox_after_delivery(dsn: str, message_id: str) -> tuple[int, str]:
    """(format, url) of the report a final DELIVERED status puts in the outbox."""
    async with await psycopg.AsyncConnection.connect(dsn) as conn, conn.transaction():
        await conn.execute("UPDATE messages SET status = 2 WHERE id = %s", (int(message_id),))
        await finalize(conn, [(int(message_id), Status.DELIVERED, 0, "test")])
        cur = await conn.execute(
            "SELECT format, url FROM report_outbox WHERE message_id = %s", (int(message_id),)
        )
        found = await cur.fetchall()
    assert len(found) == 1, found
    return found[0][0], found[0][1]


def next_hour(hours: int, zone: dt.tzinfo) -> dt.datetime:
    """The start of the hour ``hours`` from now (``hours`` ≥ 2 keeps it in the future)."""
    return (dt.datetime.now(zone) + dt.timedelta(hours=hours)).replace(
        minute=0, second=0, microsecond=0
    )


def stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S%z")


# --- REST v6 ------------------------------------------------------------------------------------


def v6_body(**extra: Any) -> dict[str, Any]:
    return {
        "login": "acme",
        "password": "pw-12345",
        "destAddr": "79161234567",
        "message": {"type": "SMS", "data": {"text": "hi"}},
        **extra,
    }


async def test_rest_v6_notify_url_registered_delivery_and_schedule_are_stored(env: Env) -> None:
    opens = next_hour(3, MSK)
    deadline = opens + dt.timedelta(hours=2)
    body = v6_body(
        notifyUrl="https://partner.test/v6?token=a1",
        registeredDelivery=2,
        scheduleInfo={
            "timeBegin": f"{opens.hour:02}:00",
            "timeEnd": f"{(opens.hour + 1) % 24:02}:00",
            "deadline": stamp(deadline),
        },
        useTimeDiff=False,
    )
    resp = await env.http.post("/api/v6/send", json=body)
    assert resp.status == 200, await resp.text()
    mt_num = (await resp.json())["mtNum"]
    stored = await row(env.dsn, mt_num)
    assert (stored["report_format"], stored["report_url"], stored["receipt_request"]) == (
        message_service_pb2.REPORT_FORMAT_REST_V6,
        "https://partner.test/v6?token=a1",
        3,  # RECEIPT_REQUEST_FAILURES: "нужны только не доставлено"
    )
    assert stored["send_after"] == opens
    assert stored["not_before"] == opens  # the dispatcher will not take it earlier
    # The validity ends at the deadline (counted from acceptance, to the second).
    assert abs(stored["created_at"] + stored["ttl"] - deadline) < dt.timedelta(seconds=2)
    got = await message(env, mt_num)
    assert got.send_after.ToDatetime(dt.UTC) == opens
    # registeredDelivery 2: a delivered message makes no report.
    async with await psycopg.AsyncConnection.connect(env.dsn) as conn, conn.transaction():
        await finalize(conn, [(int(mt_num), Status.DELIVERED, 0, "test")])
        cur = await conn.execute("SELECT count(*) FROM report_outbox")
        assert await cur.fetchone() == (0,)


async def test_rest_v6_reports_go_to_notify_url_or_else_the_configured_url(env: Env) -> None:
    ids = []
    for url in ("https://partner.test/given", "partner.test/no-scheme", None):
        resp = await env.http.post("/api/v6/send", json=v6_body(notifyUrl=url))
        assert resp.status == 200, await resp.text()
        ids.append((await resp.json())["mtNum"])
    urls = [(await row(env.dsn, i))["report_url"] for i in ids]
    assert urls == ["https://partner.test/given", None, None]
    v6 = message_service_pb2.REPORT_FORMAT_REST_V6
    assert [await outbox_after_delivery(env.dsn, i) for i in ids] == [
        (v6, "https://partner.test/given"),
        (v6, CONFIGURED_URL),  # rest_status.rst: an incorrect address → the configured one
        (v6, CONFIGURED_URL),
    ]


async def test_rest_v6_use_time_diff_stores_the_window_in_the_subscribers_zone(
    env: Env,
) -> None:
    body = v6_body(useTimeDiff=True, scheduleInfo={"timeBegin": "10:00", "timeEnd": "21:00"})
    resp = await env.http.post("/api/v6/send", json=body)
    assert resp.status == 200, await resp.text()
    async with await psycopg.AsyncConnection.connect(env.dsn) as conn:
        cur = await conn.execute(
            "SELECT window_begin, window_end, window_days, window_offset, send_after FROM messages"
        )
        # No earliest time here: routing holds it until 10:00 in the number's own zone.
        assert await cur.fetchall() == [(600, 1260, 0, None, None)]


# --- HTTP v5 ------------------------------------------------------------------------------------


async def test_http_v5_ptag_format_and_sending_time_are_stored(env: Env) -> None:
    zone = dt.timezone(dt.timedelta(hours=-5, minutes=-30))
    opens = next_hour(2, zone)
    query = urlencode(
        {
            "serviceId": "acme",
            "pass": "pw-12345",
            "clientId": "79161234567",
            "message": "hi",
            "ptag": "dep-7",
            "sending_time": f"{opens.hour}_{(opens.hour + 3) % 24}",
            "time_zone": "-05:30",
        }
    )
    resp = await env.http.get(f"/api/http/v5/send?{query}")
    text = await resp.text()
    assert resp.status == 200, text
    message_id = text.split("\n")[1]
    stored = await row(env.dsn, message_id)
    assert (stored["report_format"], stored["report_url"], stored["ptag"]) == (
        message_service_pb2.REPORT_FORMAT_HTTP_V5,
        None,
        "dep-7",
    )
    assert stored["send_after"] == stored["not_before"] == opens
    assert stored["ttl"] == dt.timedelta(seconds=DEFAULT_TTL)  # unchanged
    got = await message(env, message_id)
    assert (got.ptag, got.send_after.ToDatetime(dt.UTC)) == ("dep-7", opens)
    assert await outbox_after_delivery(env.dsn, message_id) == (
        message_service_pb2.REPORT_FORMAT_HTTP_V5,
        CONFIGURED_URL,
    )


async def test_http_v5_sending_time_opening_after_the_validity_is_400(env: Env) -> None:
    async with await psycopg.AsyncConnection.connect(env.dsn) as conn:
        await conn.execute("UPDATE partners SET default_ttl_seconds = 3600")
        await conn.commit()
    opens = next_hour(3, dt.UTC)
    query = urlencode(
        {
            "serviceId": "acme",
            "pass": "pw-12345",
            "clientId": "79161234567",
            "message": "hi",
            "sending_time": f"{opens.hour}_{(opens.hour + 1) % 24}",
            "time_zone": "+00:00",
        }
    )
    resp = await env.http.get(f"/api/http/v5/send?{query}")
    assert resp.status == 400
    assert "validity" in await resp.text()


# --- REST_BATCH v3 ------------------------------------------------------------------------------


async def test_batch_callback_url_and_schedule_are_stored(env: Env) -> None:
    opens = next_hour(3, MSK)
    deadline = opens + dt.timedelta(minutes=30)
    doc = {
        "useTimeDiff": False,
        "scheduleInfo": {
            "timeBegin": f"{opens.hour:02}:00",
            "timeEnd": f"{(opens.hour + 2) % 24:02}:00",
            "deadline": stamp(deadline),
        },
        "messages": [
            {"from": "ACME", "to": "79161234567", "text": "a", "callbackUrl": "https://p.test/cb"},
            {"from": "ACME", "to": "79161234568", "text": "b", "validity": 3600},
        ],
    }
    resp = await env.http.post(
        "/api/batch/v3/messages", json=doc, headers={"Authorization": f"Key {env.key}"}
    )
    assert resp.status == 200, await resp.text()
    result = (await resp.json())["result"]
    assert [r["code"] for r in result] == ["OK", "REJECTED"]
    # The second message's hour of validity ends before the window opens.
    assert result[1]["reasons"] == [{"key": "invalid", "ref": "messages[1].validity"}]
    stored = await row(env.dsn, result[0]["messageId"])
    assert (stored["report_format"], stored["report_url"]) == (
        message_service_pb2.REPORT_FORMAT_BATCH_V3,
        "https://p.test/cb",
    )
    assert stored["send_after"] == stored["not_before"] == opens
    assert abs(stored["created_at"] + stored["ttl"] - deadline) < dt.timedelta(seconds=2)
    got = await message(env, result[0]["messageId"])
    assert got.send_after.ToDatetime(dt.UTC) == opens


async def test_batch_reports_go_to_callback_url_or_else_the_configured_url(env: Env) -> None:
    doc = {
        "messages": [
            {"from": "ACME", "to": "79161234567", "text": "a", "callbackUrl": "http://p.test/cb"},
            {"from": "ACME", "to": "79161234568", "text": "b"},
        ]
    }
    resp = await env.http.post(
        "/api/batch/v3/messages", json=doc, headers={"Authorization": f"Key {env.key}"}
    )
    result = (await resp.json())["result"]
    batch = message_service_pb2.REPORT_FORMAT_BATCH_V3
    got = [await outbox_after_delivery(env.dsn, r["messageId"]) for r in result]
    assert got == [(batch, "http://p.test/cb"), (batch, CONFIGURED_URL)]
    assert not (await message(env, result[0]["messageId"])).HasField("send_after")
