"""Rapporto HTTP API v5 send over real HTTP → real gRPC → core on real PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import psycopg
import pytest
from aiohttp import ClientTimeout, web
from aiohttp.test_utils import TestClient, TestServer

from gateways.rest.app import build_app
from gateways.rest.http_v5_parsing import parse_send
from gateways.rest.settings import RestSettings
from rcs.core.v1 import auth_service_pb2_grpc, message_service_pb2, message_service_pb2_grpc
from rcs_core.auth import partners_store as partners
from rcs_core.auth.servicer import AuthServicer
from rcs_core.messages import ids
from rcs_core.messages.servicer import MessageServicer
from rcs_core.settings.partner_channels import grant_every_messenger
from rcs_runtime.grpc_client import open_channel
from tests.support import accept_uncommitted, start_server

pytestmark = pytest.mark.integration
Client = TestClient[web.Request, web.Application]
PATH = "/api/http/v5/send"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
CREDENTIALS = {"serviceId": "acme", "pass": "pw-12345"}


@pytest.fixture
async def api(pool: Any, database_url: str) -> AsyncIterator[Client]:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await partners.upsert(conn, "acme", "pw-12345", default_sender="ACME", senders=["SHOP"])
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


async def stored(database_url: str, message_id: str) -> tuple[Any, ...]:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(
            "SELECT destination, sender, body, priority, client_ref FROM messages WHERE id = %s",
            (int(message_id),),
        )
        row = await cur.fetchone()
        assert row is not None
        return tuple(row)


async def count_messages(database_url: str) -> int:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT count(*) FROM messages")
        row = await cur.fetchone()
        assert row is not None
        return int(row[0])


def ok_id(status: int, text: str) -> str:
    assert status == 200, text
    first, message_id = text.split("\n")
    assert first == "OK"
    assert ids.installation_of(int(message_id)) == 7
    return message_id


async def test_get_send_stores_the_message(api: Client, database_url: str) -> None:
    query = urlencode({**CREDENTIALS, "clientId": "8-916-123-45-67", "message": "тест"})
    resp = await api.get(f"{PATH}?{query}")
    assert resp.content_type == "text/plain"
    message_id = ok_id(resp.status, await resp.text())
    assert await stored(database_url, message_id) == ("79161234567", "ACME", "тест", 0, None)


async def test_post_send_with_sender_priority_and_xml(api: Client, database_url: str) -> None:
    body = {
        **CREDENTIALS,
        "clientId": "+79161234567",
        "message": "Hello",
        "source": "SHOP",
        "smsPriority": "2",
        "output": "xml",
    }
    resp = await api.post(PATH, data=urlencode(body).encode(), headers={"Content-Type": FORM})
    text = await resp.text()
    assert (resp.status, resp.content_type) == (200, "application/xml"), text
    head, _, rest = text.partition("<id>")
    assert head.startswith('<?xml version="1.0" encoding="utf-8"?>\n<response>\n')
    assert "<code>200</code>\n    <text>OK</text>" in head
    message_id = rest.partition("</id>")[0]
    assert await stored(database_url, message_id) == ("79161234567", "SHOP", "Hello", 2, None)


async def test_repeated_partner_msg_id_returns_the_first_id(api: Client, database_url: str) -> None:
    body = {**CREDENTIALS, "clientId": "79161234567", "message": "once", "partnerMsgId": "o-42"}
    first = await api.post(PATH, data=urlencode(body).encode(), headers={"Content-Type": FORM})
    first_id = ok_id(first.status, await first.text())
    again = await api.get(f"{PATH}?{urlencode(body)}")
    assert ok_id(again.status, await again.text()) == first_id
    assert await count_messages(database_url) == 1
    assert (await stored(database_url, first_id))[4] == "o-42"


async def test_a_partner_msg_id_still_being_stored_is_503_then_its_id(
    api: Client, database_url: str
) -> None:
    """http_sms.rst: until the first request with a partnerMsgId is processed, repeats get
    503 "Request is being processed"; afterwards the first id."""
    body = {**CREDENTIALS, "clientId": "79161234567", "message": "once", "partnerMsgId": "o-77"}
    async with await psycopg.AsyncConnection.connect(database_url) as first:
        stored_first = await accept_uncommitted(
            first, "acme", parse_send(body).submission(), default_sender="ACME"
        )
        busy = await api.get(f"{PATH}?{urlencode(body)}", timeout=ClientTimeout(total=10))
        assert busy.status == 503
        assert (await busy.text()).startswith("Request is being processed")
        xml = await api.get(f"{PATH}?{urlencode({**body, 'output': 'xml'})}")
        assert "<code>503</code>" in await xml.text()
        await first.commit()
    again = await api.get(f"{PATH}?{urlencode(body)}")
    assert ok_id(again.status, await again.text()) == str(stored_first.message_id)
    assert await count_messages(database_url) == 1


async def test_wrong_password_is_401_with_the_documented_body(
    api: Client, database_url: str
) -> None:
    query = urlencode({"serviceId": "acme", "pass": "wrong", "clientId": "79161234567"})
    resp = await api.get(f"{PATH}?{query}&message=x")
    assert (resp.status, resp.content_type, await resp.text()) == (
        401,
        "text/plain",
        "Invalid password",
    )
    xml = await api.get(f"{PATH}?{query}&message=x&output=xml")
    assert (xml.status, await xml.text()) == (
        200,
        '<?xml version="1.0" encoding="utf-8"?>\n<response>\n    <code>401</code>\n'
        "    <text>Invalid password</text>\n</response>\n",
    )
    assert await count_messages(database_url) == 0


@pytest.mark.parametrize("number", ["12345", "7916123456789012", "07916123456"])
async def test_bad_number_is_406(api: Client, database_url: str, number: str) -> None:
    """Too short for the gateway, too long or a bad prefix for core: 406 either way."""
    query = urlencode({**CREDENTIALS, "clientId": number, "message": "x"})
    resp = await api.get(f"{PATH}?{query}")
    text = await resp.text()
    assert resp.status == 406, text
    assert text.startswith("Invalid clientId")
    assert await count_messages(database_url) == 0


async def test_text_too_long_is_414_and_sending_time_without_zone_is_the_subscribers(
    api: Client, database_url: str
) -> None:
    long = urlencode({**CREDENTIALS, "clientId": "79161234567", "message": "x" * 2001})
    assert (await api.get(f"{PATH}?{long}")).status == 414
    assert await count_messages(database_url) == 0
    scheduled = urlencode(
        {**CREDENTIALS, "clientId": "79161234567", "message": "x", "sending_time": "10_20"}
    )
    resp = await api.get(f"{PATH}?{scheduled}")
    assert resp.status == 200, await resp.text()
    # The hours are the subscriber's: routing applies the number's zone at dispatch.
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(
            "SELECT window_begin, window_end, window_offset, send_after FROM messages"
        )
        assert await cur.fetchall() == [(600, 1200, None, None)]


async def test_ptag_report_format_and_sending_time_are_stored(
    api: Client, database_url: str
) -> None:
    opens = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).replace(
        minute=0, second=0, microsecond=0
    )
    query = urlencode(
        {
            **CREDENTIALS,
            "clientId": "79161234567",
            "message": "x",
            "ptag": "dep-7",
            "sending_time": f"{opens.hour:02}_{(opens.hour + 1) % 24:02}",
            "time_zone": "+00:00",
        }
    )
    resp = await api.get(f"{PATH}?{query}")
    message_id = ok_id(resp.status, await resp.text())
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(
            "SELECT ptag, report_format, report_url, send_after FROM messages WHERE id = %s",
            (int(message_id),),
        )
        assert await cur.fetchone() == (
            "dep-7",
            message_service_pb2.REPORT_FORMAT_HTTP_V5,
            None,
            opens,
        )
