"""Senders belong to partners, and SMPP has its own credential (issue 14, items 4 and 6),
over real sockets: REST v6, HTTP v5, REST_BATCH and the SMPP gateway against core on
PostgreSQL, senders and SMPP passwords set through the admin API."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import smpplib.client
import smpplib.exceptions
import smpplib.smpp
from aiohttp import web

from gateways.rest.app import build_app
from gateways.rest.settings import RestSettings
from gateways.smpp.server import SmppGateway
from gateways.smpp.settings import SmppGatewaySettings
from rcs.core.v1 import auth_service_pb2_grpc, settings_service_pb2_grpc
from rcs_core.auth.servicer import AuthServicer
from rcs_core.settings.servicer import SettingsServicer
from rcs_runtime.grpc_client import open_channel
from tests.conftest import free_port
from tests.core_services import CoreServices
from tests.support import start_server, upsert_admin

pytestmark = pytest.mark.integration
ADMIN = {"Authorization": "Basic " + base64.b64encode(b"root:correct horse").decode()}
LONG_PASSWORD = "a-long-passphrase"  # more than an SMPP bind carries


@dataclass
class Rig:
    base: str
    smpp_port: int
    key: str
    http: aiohttp.ClientSession

    async def call(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        async with self.http.request(method, self.base + path, **kw) as resp:
            ctype = resp.content_type
            body = await resp.json() if ctype == "application/json" else await resp.text()
            return resp.status, body


@pytest.fixture
async def rig(pool: Any, database_url: str) -> AsyncIterator[Rig]:
    await upsert_admin(database_url, "root", "correct horse")
    messages = CoreServices(pool, installation_id=7, partner_cache_seconds=0)
    server = await start_server(
        lambda s: settings_service_pb2_grpc.add_SettingsServiceServicer_to_server(
            SettingsServicer(pool), s
        ),
        lambda s: auth_service_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(pool), s),
        messages.register,
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    runner = web.AppRunner(build_app(RestSettings(auth_cache_seconds=0), channel))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    smpp = SmppGateway(SmppGatewaySettings(smpp_port=0, auth_cache_seconds=0), channel)
    smpp_port = await smpp.start()
    async with aiohttp.ClientSession() as http:
        rig = Rig(f"http://127.0.0.1:{port}", smpp_port, "", http)
        status, body = await rig.call(
            "POST",
            "/api/admin/v1/partners",
            headers=ADMIN,
            json={
                "partner": {"login": "acme", "defaultSender": "ACME", "senders": ["4444", "SHOP"]},
                "password": "pw-12345",
            },
        )
        assert status == 201, body
        assert body["partner"]["senders"] == ["4444", "SHOP"]
        status, body = await rig.call(
            "POST", "/api/admin/v1/partners/acme/api-keys", headers=ADMIN, json={}
        )
        rig.key = body["key"]
        yield rig
    await smpp.stop()
    await runner.cleanup()
    await channel.close()
    await server.stop(0)
    await messages.close()


def _v6(sender: str) -> dict[str, Any]:
    return {
        "login": "acme",
        "password": "pw-12345",
        "destAddr": "79034567890",
        "message": {"type": "SMS", "data": {"text": "hi", "serviceNumber": sender}},
    }


def _smpp_submit(port: int, source: str, password: str = "pw-12345") -> int:
    client = smpplib.client.Client("127.0.0.1", port, timeout=10, allow_unknown_opt_params=True)
    client.connect()
    try:
        client.bind_transceiver(system_id="acme", password=password)
        pdu = smpplib.smpp.make_pdu(
            "submit_sm",
            client=client,
            source_addr=source,
            destination_addr="79034567890",
            short_message=b"hi",
        )
        client.send_pdu(pdu)
        return int(client.read_pdu().status)
    finally:
        client.disconnect()


def _bind_status(port: int, password: str) -> int:
    client = smpplib.client.Client("127.0.0.1", port, timeout=10, allow_unknown_opt_params=True)
    client.connect()
    try:
        client.bind_transceiver(system_id="acme", password=password)
    except smpplib.exceptions.PDUError as err:
        return int(err.args[1])
    finally:
        client.disconnect()
    return 0


async def test_a_sender_the_partner_does_not_own_is_refused_on_every_api(rig: Rig) -> None:
    """Issue 14: any partner could send from any sender name — another client's brand."""
    status, body = await rig.call("POST", "/api/v6/send", json=_v6("BANK"))
    assert status == 400
    assert body["error"] == {"code": 7, "description": "serviceNumber is not defined"}
    assert "'BANK' is not one of this login's senders" in body["extendedDescription"]
    status, text = await rig.call(
        "GET",
        "/api/http/v5/send",
        params={
            "serviceId": "acme",
            "pass": "pw-12345",
            "clientId": "79034567890",
            "message": "hi",
            "source": "BANK",
        },
    )
    assert status == 400
    assert text.startswith("Invalid request, sender 'BANK' is not one of this login's senders")
    status, body = await rig.call(
        "POST",
        "/api/batch/v3/messages",
        headers={"Authorization": f"Key {rig.key}"},
        json={"messages": [{"from": "BANK", "to": "79034567890", "text": "hi"}]},
    )
    assert status == 200
    (result,) = body["result"]
    assert result["code"] == "REJECTED"
    assert result["reasons"] == [{"key": "not.available", "ref": "messages[0].from"}]
    assert await asyncio.to_thread(_smpp_submit, rig.smpp_port, "BANK") == 0x0A


async def test_owned_senders_and_the_default_are_taken(rig: Rig) -> None:
    for sender in ("ACME", "SHOP", "4444"):
        status, body = await rig.call("POST", "/api/v6/send", json=_v6(sender))
        assert status == 200, body
    body_without_sender = _v6("")
    del body_without_sender["message"]["data"]["serviceNumber"]
    status, body = await rig.call("POST", "/api/v6/send", json=body_without_sender)
    assert status == 200, body  # the default sender
    assert await asyncio.to_thread(_smpp_submit, rig.smpp_port, "SHOP") == 0


async def test_senders_are_assigned_through_the_settings_api_and_audited(rig: Rig) -> None:
    status, body = await rig.call(
        "PATCH", "/api/admin/v1/partners/acme", headers=ADMIN, json={"senders": ["BANK"]}
    )
    assert status == 200, body
    assert body["partner"]["senders"] == ["BANK"]
    assert (await rig.call("POST", "/api/v6/send", json=_v6("BANK")))[0] == 200
    assert (await rig.call("POST", "/api/v6/send", json=_v6("SHOP")))[0] == 400
    status, body = await rig.call("GET", "/api/admin/v1/revisions", headers=ADMIN)
    latest = body["revisions"][0]
    assert latest["summary"] == "update partner acme: senders"
    assert latest["actor"]["login"] == "root"
    status, body = await rig.call(
        "PATCH", "/api/admin/v1/partners/acme", headers=ADMIN, json={"senders": [" X"]}
    )
    assert (status, body["error"]["code"]) == (400, 7)


async def test_a_password_smpp_cannot_carry_needs_an_smpp_password(rig: Rig) -> None:
    """Issue 14: a partner password over 8 characters could never bind (0x0E)."""
    status, _ = await rig.call(
        "PATCH", "/api/admin/v1/partners/acme", headers=ADMIN, json={"password": LONG_PASSWORD}
    )
    assert status == 200
    assert await asyncio.to_thread(_bind_status, rig.smpp_port, LONG_PASSWORD[:8]) == 0x0E
    status, body = await rig.call(
        "PATCH", "/api/admin/v1/partners/acme", headers=ADMIN, json={"smppPassword": "toolong99"}
    )
    assert status == 400
    assert "smpp_password must be 1 to 8 printable ASCII characters" in body["extendedDescription"]
    status, body = await rig.call(
        "PATCH", "/api/admin/v1/partners/acme", headers=ADMIN, json={"smppPassword": "smpp-pw1"}
    )
    assert status == 200, body
    assert body["partner"]["hasSmppPassword"] is True
    assert await asyncio.to_thread(_bind_status, rig.smpp_port, "smpp-pw1") == 0
    assert await asyncio.to_thread(_bind_status, rig.smpp_port, "pw-12345") == 0x0E
    # HTTP keeps the partner's own password; the SMPP one is for binds only.
    v6 = _v6("ACME") | {"password": LONG_PASSWORD}
    assert (await rig.call("POST", "/api/v6/send", json=v6))[0] == 200
    assert (await rig.call("POST", "/api/v6/send", json=v6 | {"password": "smpp-pw1"}))[0] == 401
    status, body = await rig.call(
        "PATCH", "/api/admin/v1/partners/acme", headers=ADMIN, json={"smppPassword": ""}
    )
    assert body["partner"].get("hasSmppPassword", False) is False
