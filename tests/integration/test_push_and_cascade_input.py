"""Push and cascade requests over real HTTP → real gRPC → core on real PostgreSQL: what is
stored for a good one, and the documented error with nothing stored for a bad one."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import psycopg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateways.rest.app import build_app
from gateways.rest.settings import RestSettings
from rcs.common.v1 import message_pb2
from rcs.core.v1 import auth_service_pb2_grpc, message_service_pb2, message_service_pb2_grpc
from rcs_core.auth import partners_store as partners
from rcs_core.auth.servicer import AuthServicer
from rcs_core.messages.servicer import MessageServicer
from rcs_core.settings.partner_channels import grant_every_messenger
from rcs_runtime.grpc_client import open_channel
from tests.support import start_server

pytestmark = pytest.mark.integration
Client = TestClient[web.Request, web.Application]

PUSH_TO_SMS: dict[str, Any] = {
    "login": "acme",
    "password": "pw-12345",
    "id": "c-1",
    "destAddr": "79161234567",
    "message": {
        "type": "PUSH",
        "data": {
            "title": "Заголовок",
            "text": "Текст уведомления",
            "serviceNumber": "ACME",
            "ttl": 40,
            "ttlUnit": "SECONDS",
            "primaryOn": True,
            "content": {
                "contentCategory": "IMAGE",
                "contentUrl": "https://example.com/a.jpg",
                "actions": [{"title": "Открыть", "action": "link", "options": "https://e.x/"}],
            },
            "deviceSubscriptions": ["card"],
            "customPayload": {"list": "card"},
            "callbackData": "stats-1",
            "extraOptions": [{"param_name": "SENDING_PLATFORMS", "param_value": ["Ios"]}],
        },
    },
    "cascadeChainLink": {
        "state": "DELIVERED",
        "message": {"type": "SMS", "data": {"text": "SMS text", "serviceNumber": "ACME", "ttl": 2}},
    },
}


@pytest.fixture
async def api(pool: Any, database_url: str) -> AsyncIterator[Client]:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await partners.upsert(conn, "acme", "pw-12345", default_sender="ACME", senders=["ACME2"])
        await grant_every_messenger(conn, "acme")  # messenger channels: deny by default
        await conn.commit()
    messages = MessageServicer(pool, installation_id=7)
    server = await start_server(
        lambda s: message_service_pb2_grpc.add_MessageServiceServicer_to_server(messages, s),
        lambda s: auth_service_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(pool), s),
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    client: Client = TestClient(TestServer(build_app(RestSettings(), channel), host="127.0.0.1"))
    await client.start_server()
    yield client
    await client.close()
    await channel.close()
    await server.stop(0)
    await messages.close()


async def counts(database_url: str) -> tuple[int, int]:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(
            "SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM cascades)"
        )
        row = await cur.fetchone()
        assert row is not None
        return int(row[0]), int(row[1])


async def test_rest_v6_push_cascade_is_stored_with_its_push_and_links(
    api: Client, database_url: str
) -> None:
    resp = await api.post("/api/v6/send", json=PUSH_TO_SMS)
    answer = await resp.json()
    assert resp.status == 200, answer
    mt = int(answer["mtNum"])
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(
            "SELECT channel, body, sender, push, cascade_id, valid_until - created_at"
            " FROM messages WHERE id = %s",
            (mt,),
        )
        channel, body, sender, raw, cascade_id, ttl = await cur.fetchone()  # type: ignore[misc]
        cur = await conn.execute(
            "SELECT links, wait_for, deadline - created_at, current_id FROM cascades WHERE id = %s",
            (mt,),
        )
        links, wait_for, deadline, current = await cur.fetchone()  # type: ignore[misc]
    push = message_pb2.PushContent.FromString(raw)
    assert (channel, body, sender, cascade_id, ttl.total_seconds()) == (
        2,
        "Текст уведомления",
        "ACME",
        mt,
        40,
    )
    assert (push.title, push.primary_only, push.image_url, push.content_category) == (
        "Заголовок",
        True,
        "https://example.com/a.jpg",
        "IMAGE",
    )
    assert [(b.text, b.action_url) for b in push.buttons] == [("Открыть", "https://e.x/")]
    assert (push.subscription, push.callback_data, list(push.providers)) == (
        "card",
        "stats-1",
        ["APNS"],
    )
    assert push.custom_payload_json == '{"list": "card"}'
    (link,) = [message_service_pb2.CascadeLink.FromString(x) for x in links]
    assert (link.channel, link.sms.text, link.ttl.seconds) == (1, "SMS text", 120)
    assert (wait_for, deadline.total_seconds(), current) == (3, 40, mt)


def _with(path: list[Any], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(PUSH_TO_SMS)
    node: Any = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


FLASHINGCALL_ON_READ = {
    **PUSH_TO_SMS,
    "message": {"type": "FLASHINGCALL", "data": {"text": "1234", "ttl": 1}},
    "cascadeChainLink": {**PUSH_TO_SMS["cascadeChainLink"], "state": "READ"},
}
BAD_REST = [
    ("unknown type", _with(["message", "type"], "PIGEON"), 406, 9),
    ("push text over 1000", _with(["message", "data", "text"], "x" * 1001), 400, 4),
    ("push title over 80", _with(["message", "data", "title"], "t" * 81), 400, 4),
    ("push ttl below 30 s", _with(["message", "data", "ttl"], 29), 406, 11),
    ("push ttl over a day", _with(["message", "data", "ttlUnit"], "HOURS"), 406, 11),
    (
        "SMS link text too long",
        _with(["cascadeChainLink", "message", "data", "text"], "x" * 2001),
        400,
        4,
    ),
    ("FlashingCall followed on READ", FLASHINGCALL_ON_READ, 400, 4),
    (
        "SMS followed on READ",
        {
            **_with(["message", "type"], "SMS"),
            "cascadeChainLink": {**PUSH_TO_SMS["cascadeChainLink"], "state": "READ"},
        },
        400,
        4,
    ),
    ("an IVR link", _with(["cascadeChainLink", "message", "type"], "IVR"), 406, 9),
    ("a link without state", _with(["cascadeChainLink", "state"], "SEEN"), 400, 4),
    (
        "push without destAddr nor user",
        {k: v for k, v in PUSH_TO_SMS.items() if k != "destAddr"},
        400,
        4,
    ),
]


@pytest.mark.parametrize(("why", "doc", "status", "code"), BAD_REST, ids=[b[0] for b in BAD_REST])
async def test_rest_v6_bad_push_or_cascade_is_refused_and_nothing_stored(
    api: Client, database_url: str, why: str, doc: dict[str, Any], status: int, code: int
) -> None:
    resp = await api.post("/api/v6/send", json=doc)
    answer = await resp.json()
    assert (resp.status, answer["error"]["code"]) == (status, code), (why, answer)
    assert await counts(database_url) == (0, 0)


BAD_V5 = [
    ("push over 1000 characters", {"order_list": "p,s", "message": "x" * 1001}, 414),
    ("S after an SMS", {"order_list": "s,p", "s_resendCond": "S"}, 400),
    ("unknown type letter", {"order_list": "p,q"}, 400),
    ("push validity below 30 s", {"order_list": "p,s", "p_resendValid": "000000000010000R"}, 400),
]


@pytest.mark.parametrize(("why", "extra", "code"), BAD_V5, ids=[b[0] for b in BAD_V5])
async def test_http_v5_bad_push_or_cascade_is_refused_and_nothing_stored(
    api: Client, database_url: str, why: str, extra: dict[str, str], code: int
) -> None:
    query = urlencode(
        {
            "serviceId": "acme",
            "pass": "pw-12345",
            "clientId": "79161234567",
            "message": "hi",
            **extra,
        }
    )
    resp = await api.get(f"/api/http/v5/send?{query}")
    assert resp.status == code, (why, await resp.text())
    assert await counts(database_url) == (0, 0)


async def test_http_v5_order_list_makes_a_push_cascade(api: Client, database_url: str) -> None:
    query = urlencode(
        {
            "serviceId": "acme",
            "pass": "pw-12345",
            "clientId": "79161234567",
            "message": "push text",
            "order_list": "P,S",
            "p_resendValid": "000000000100000R",
            "s_resendText": "sms text",
            "s_resendSn": "ACME2",
            "imageUrl": "https://e.x/i.png",
        }
    )
    resp = await api.get(f"/api/http/v5/send?{query}")
    text = await resp.text()
    assert resp.status == 200, text
    mt = int(text.split("\n")[1])
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(
            "SELECT m.channel, m.body, m.push, c.links, c.deadline - c.created_at"
            " FROM messages m JOIN cascades c ON c.id = m.id WHERE m.id = %s",
            (mt,),
        )
        channel, body, raw, links, deadline = await cur.fetchone()  # type: ignore[misc]
    assert (channel, body, deadline.total_seconds()) == (2, "push text", 60)
    assert message_pb2.PushContent.FromString(raw).image_url == "https://e.x/i.png"
    (link,) = [message_service_pb2.CascadeLink.FromString(x) for x in links]
    assert (link.state, link.channel, link.sms.text, link.sms.sender) == (1, 1, "sms text", "ACME2")


async def test_an_sms_link_from_a_sender_the_partner_does_not_own_is_refused(
    api: Client, database_url: str
) -> None:
    doc = _with(["cascadeChainLink", "message", "data", "serviceNumber"], "SOMEBANK")
    resp = await api.post("/api/v6/send", json=doc)
    answer = await resp.json()
    assert resp.status == 400, answer
    assert await counts(database_url) == (0, 0)
