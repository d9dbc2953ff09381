"""Partner channels (issue 17, Deliver 4): per partner and messenger channel, the sender
identities, WhatsApp templates and default TTL, as settings over real gRPC and PostgreSQL
(revision, audit, rollback), and core's accept path refusing what they do not allow over
REST v6, storing nothing."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import grpc
import psycopg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateways.rest.app import build_app
from gateways.rest.settings import RestSettings
from rcs.common.v1 import channel_pb2, message_pb2
from rcs.core.v1 import (
    auth_service_pb2_grpc,
    message_service_pb2_grpc,
    settings_service_pb2_grpc,
)
from rcs.core.v1 import settings_service_pb2 as ss
from rcs_core.auth.servicer import AuthServicer
from rcs_core.messages.servicer import MessageServicer
from rcs_core.settings.servicer import SettingsServicer
from rcs_runtime.errors import CATALOGUE, Reason
from rcs_runtime.grpc_client import error_reason, open_channel
from tests.support import start_server

pytestmark = pytest.mark.integration
Client = TestClient[web.Request, web.Application]
MIGRATIONS = Path(__file__).parents[2] / "rcs_core" / "migrations"
ADMIN = ss.Actor(login="admin", remote_ip="10.0.0.5")
WA = channel_pb2.CHANNEL_WHATSAPP
OTP = ss.WhatsappTemplate(name="otp", language="ru", parameter_count=1)


class Installation:
    def __init__(self, settings: Any, api: Client) -> None:
        self.settings = settings
        self.api = api


@pytest.fixture
async def inst(pool: Any) -> AsyncIterator[Installation]:
    messages = MessageServicer(pool, installation_id=7)
    server = await start_server(
        lambda s: message_service_pb2_grpc.add_MessageServiceServicer_to_server(messages, s),
        lambda s: auth_service_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(pool), s),
        lambda s: settings_service_pb2_grpc.add_SettingsServiceServicer_to_server(
            SettingsServicer(pool), s
        ),
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    settings = settings_service_pb2_grpc.SettingsServiceStub(channel)
    await settings.CreatePartner(
        ss.CreatePartnerRequest(
            actor=ADMIN,
            partner=ss.Partner(login="acme", default_sender="ACME"),
            password="pw-12345",
        )
    )
    client: Client = TestClient(TestServer(build_app(RestSettings(), channel), host="127.0.0.1"))
    await client.start_server()
    yield Installation(settings, client)
    await client.close()
    await channel.close()
    await server.stop(0)
    await messages.close()


async def fetch(dsn: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute(sql, args)
        return await cur.fetchall()


def put(pc: ss.PartnerChannel, request_id: str = "") -> ss.PutPartnerChannelRequest:
    return ss.PutPartnerChannelRequest(request_id=request_id, actor=ADMIN, partner_channel=pc)


async def test_partner_channels_are_revisions_with_audit_and_roll_back(
    inst: Installation, database_url: str
) -> None:
    s = inst.settings
    wa = ss.PartnerChannel(
        partner="acme",
        channel=WA,
        identities=["79001112233", "79001112233", "78005553535"],
        templates=[OTP, ss.WhatsappTemplate(name="order_ready", language="en_US")],
        default_ttl_seconds=172800,
    )
    first = await s.PutPartnerChannel(put(wa, "pc-1"))
    assert first.revision > 0
    assert list(first.partner_channel.identities) == ["78005553535", "79001112233"]
    assert [t.name for t in first.partner_channel.templates] == ["order_ready", "otp"]
    replay = await s.PutPartnerChannel(put(wa, "pc-1"))
    assert replay.revision == first.revision  # the request_id's first answer
    assert (await s.PutPartnerChannel(put(wa))).revision == 0  # stored like that already
    changes = await fetch(
        database_url, "SELECT changes FROM settings_revisions WHERE revision = %s", first.revision
    )
    assert [(c["entity"], c["key"]) for c in changes[0][0]] == [("partner_channel", "acme|4")]
    assert await fetch(
        database_url, "SELECT actor, remote_ip FROM audit_log WHERE revision = %s", first.revision
    ) == [("admin", "10.0.0.5")]
    viber = ss.PartnerChannel(partner="acme", channel=channel_pb2.CHANNEL_VIBER, identities=["X"])
    second = await s.PutPartnerChannel(put(viber))
    listed = await s.ListPartnerChannels(ss.ListPartnerChannelsRequest(partner="acme"))
    assert [p.channel for p in listed.partner_channels] == [3, 4]
    assert (
        await s.ListPartnerChannels(ss.ListPartnerChannelsRequest(partner="x"))
    ).ListFields() == []
    gone = await s.DeletePartnerChannel(
        ss.DeletePartnerChannelRequest(actor=ADMIN, partner="acme", channel=WA)
    )
    assert gone.revision > second.revision
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await s.DeletePartnerChannel(
            ss.DeletePartnerChannelRequest(actor=ADMIN, partner="acme", channel=WA)
        )
    assert error_reason(err.value) == "NOT_FOUND"
    await s.RollbackSettings(ss.RollbackSettingsRequest(actor=ADMIN, revision=first.revision))
    back = await s.ListPartnerChannels(ss.ListPartnerChannelsRequest())
    assert [(p.channel, len(p.templates)) for p in back.partner_channels] == [(4, 2)]


BAD = [
    ("unknown partner", ss.PartnerChannel(partner="nobody", channel=WA), "INVALID_REQUEST"),
    (
        "SMS is no partner channel",
        ss.PartnerChannel(partner="acme", channel=channel_pb2.CHANNEL_SMS),
        "INVALID_REQUEST",
    ),
    (
        "templates outside WhatsApp",
        ss.PartnerChannel(partner="acme", channel=channel_pb2.CHANNEL_VIBER, templates=[OTP]),
        "INVALID_REQUEST",
    ),
    (
        "template name",
        ss.PartnerChannel(
            partner="acme", channel=WA, templates=[ss.WhatsappTemplate(name="Otp!", language="ru")]
        ),
        "INVALID_REQUEST",
    ),
    (
        "template twice",
        ss.PartnerChannel(partner="acme", channel=WA, templates=[OTP, OTP]),
        "INVALID_REQUEST",
    ),
    (
        "WhatsApp TTL not whole days",
        ss.PartnerChannel(partner="acme", channel=WA, default_ttl_seconds=90000),
        "INVALID_TTL",
    ),
    (
        "flash-call TTL over 5 minutes",
        ss.PartnerChannel(
            partner="acme", channel=channel_pb2.CHANNEL_FLASH_CALL, default_ttl_seconds=301
        ),
        "INVALID_TTL",
    ),
]


@pytest.mark.parametrize(("why", "pc", "reason"), BAD, ids=[b[0] for b in BAD])
async def test_bad_partner_channels_are_refused(
    inst: Installation, database_url: str, why: str, pc: ss.PartnerChannel, reason: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await inst.settings.PutPartnerChannel(put(pc))
    assert error_reason(err.value) == reason, (why, err.value.details())
    assert await fetch(database_url, "SELECT 1 FROM partner_channels") == []


def send(channel: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "login": "acme",
        "password": "pw-12345",
        "destAddr": "79161234567",
        "message": {"type": channel, "data": data},
    }


VIBER_TEXT = send(
    "VIBER",
    {"instantContent": {"type": "TEXT", "data": {"text": "Hi"}}, "serviceNumber": "ShopA"},
)
WA_TEMPLATE = send(
    "WHATSAPP",
    {
        "instantContent": {
            "type": "TEMPLATE",
            "data": {"name": "otp", "language": "ru", "parameters": ["1234"]},
        },
        "serviceNumber": "79001112233",
    },
)


def _with(doc: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def code(reason: Reason) -> tuple[int, int]:
    entry = CATALOGUE[reason]
    return entry.http_status, entry.rest_code


async def grant_viber_and_whatsapp(s: Any) -> None:
    await s.PutPartnerChannel(
        put(
            ss.PartnerChannel(
                partner="acme",
                channel=channel_pb2.CHANNEL_VIBER,
                identities=["ShopA"],
                default_ttl_seconds=600,
            )
        )
    )
    await s.PutPartnerChannel(
        put(
            ss.PartnerChannel(
                partner="acme", channel=WA, identities=["79001112233"], templates=[OTP]
            )
        )
    )


async def test_sends_within_the_partners_channels_are_stored(
    inst: Installation, database_url: str
) -> None:
    await grant_viber_and_whatsapp(inst.settings)
    resp = await inst.api.post("/api/v6/send", json=VIBER_TEXT)
    assert resp.status == 200, await resp.text()
    resp = await inst.api.post("/api/v6/send", json=WA_TEMPLATE)
    assert resp.status == 200, await resp.text()
    rows = await fetch(
        database_url,
        "SELECT channel, sender, extract(epoch FROM valid_until - created_at)::int, push"
        " FROM messages ORDER BY id",
    )
    assert [(c, s, ttl) for c, s, ttl, _ in rows] == [
        (3, "ShopA", 600),  # Viber's default TTL for this partner, not its 86400
        (4, "79001112233", 86400),  # WhatsApp's: the partner's, in whole days
    ]
    content = message_pb2.ViberContent.FromString(rows[1][3])
    assert (content.template_name, content.template_language) == ("otp", "ru")
    assert list(content.template_parameters) == ["1234"]


SMS_TEXT = send("SMS", {"text": "Hi"})

SENDER = ["message", "data", "serviceNumber"]
TEMPLATE = ["message", "data", "instantContent", "data"]
FLASH_LINK = {
    "state": "DELIVERED",
    "message": {"type": "FLASHINGCALL", "data": {"text": "1234"}},
}
REFUSED = [
    ("a Viber sender not the partner's", _with(VIBER_TEXT, SENDER, "ShopB"), Reason.INVALID_SENDER),
    (
        "a channel the partner has not",
        send("VK", {"text": "Hi", "serviceNumber": "club1"}),
        Reason.INVALID_MESSAGE_TYPE,
    ),
    (
        "a template that does not exist",
        _with(WA_TEMPLATE, [*TEMPLATE, "name"], "promo"),
        Reason.INVALID_REQUEST,
    ),
    (
        "a template in another language",
        _with(WA_TEMPLATE, [*TEMPLATE, "language"], "en"),
        Reason.INVALID_REQUEST,
    ),
    (
        "a template's parameters miscounted",
        _with(WA_TEMPLATE, [*TEMPLATE, "parameters"], []),
        Reason.INVALID_REQUEST,
    ),
    (
        "a WhatsApp number not the partner's",
        _with(WA_TEMPLATE, SENDER, "79009999999"),
        Reason.INVALID_SENDER,
    ),
    (
        "a cascade link to a channel the partner has not",
        {**VIBER_TEXT, "cascadeChainLink": FLASH_LINK},
        Reason.INVALID_MESSAGE_TYPE,
    ),
]


@pytest.mark.parametrize(("why", "doc", "reason"), REFUSED, ids=[r[0] for r in REFUSED])
async def test_sends_outside_the_partners_channels_are_refused_and_nothing_stored(
    inst: Installation, database_url: str, why: str, doc: dict[str, Any], reason: Reason
) -> None:
    await grant_viber_and_whatsapp(inst.settings)
    resp = await inst.api.post("/api/v6/send", json=doc)
    answer = await resp.json()
    assert (resp.status, answer["error"]["code"]) == code(reason), (why, answer)
    assert await fetch(database_url, "SELECT id FROM messages") == []


async def test_a_partner_without_channel_settings_has_no_messenger_channel(
    inst: Installation, database_url: str
) -> None:
    """Deny by default: a partner granted no messenger channel is refused each of them
    (INVALID_MESSAGE_TYPE, naming none enabled), as a message and as a cascade link, and
    stores nothing; SMS is unchanged (a granted channel goes: the tests above)."""
    for doc in (
        VIBER_TEXT,
        WA_TEMPLATE,
        send("TELEGRAM", {"text": "Hi", "serviceNumber": "RCS", "ttl": 60, "ttlUnit": "SECONDS"}),
        send("VK", {"text": "Hi", "serviceNumber": "club1"}),
        send("FLASHINGCALL", {"text": "1234"}),
        {**SMS_TEXT, "cascadeChainLink": FLASH_LINK},
    ):
        resp = await inst.api.post("/api/v6/send", json=doc)
        answer = await resp.json()
        assert (resp.status, answer["error"]["code"]) == code(Reason.INVALID_MESSAGE_TYPE), doc
        assert "enabled: none" in answer["extendedDescription"], answer
    assert await fetch(database_url, "SELECT id FROM messages") == []
    resp = await inst.api.post("/api/v6/send", json=SMS_TEXT)
    assert resp.status == 200, await resp.text()


async def test_http_v5_link_to_a_channel_the_partner_has_not_is_refused(
    inst: Installation, database_url: str
) -> None:
    """Core checks every API's messages, HTTP v5's cascade links too (400, as
    INVALID_MESSAGE_TYPE is there)."""
    await grant_viber_and_whatsapp(inst.settings)
    query = urlencode(
        {
            "serviceId": "acme",
            "pass": "pw-12345",
            "clientId": "79161234567",
            "message": "code 1234",
            "order_list": "f,s",
        }
    )
    resp = await inst.api.get(f"/api/http/v5/send?{query}")
    assert resp.status == CATALOGUE[Reason.INVALID_MESSAGE_TYPE].http_v5, await resp.text()
    assert await fetch(database_url, "SELECT id FROM messages") == []


async def test_the_upgrade_keeps_partners_without_channels_sending_as_before(
    database_url: str,
) -> None:
    """Migration 0141 on an installation from before deny by default: a partner with no
    partner channel (then: every channel, any sender) gets every messenger channel with
    any sender; one that had channels keeps exactly those."""
    sql = (MIGRATIONS / "0141_partner_channels_deny_by_default.sql").read_text()
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await conn.execute(
            "INSERT INTO partners (login, password_hash) VALUES ('old', 'x'), ('picky', 'x')"
        )
        await conn.execute(
            "INSERT INTO partner_channels (partner, channel, identities)"
            " VALUES ('picky', 3, '{ShopA}')"
        )
        await conn.execute(sql)
        await conn.commit()
    assert await fetch(
        database_url,
        "SELECT partner, channel, identities FROM partner_channels ORDER BY 1, 2",
    ) == [
        ("old", 3, []),
        ("old", 4, []),
        ("old", 5, []),
        ("old", 6, []),
        ("old", 8, []),
        ("picky", 3, ["ShopA"]),
    ]
