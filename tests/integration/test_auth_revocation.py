"""Changed credentials apply at once (issue 14, item 3), over real sockets: the gateways
cache logins and keys per (credentials, address), and drop the caches when core's
settings revision (or the set of revoked keys) changes; SMPP sessions whose password
changed or whose address the allowlist no longer takes are unbound."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import smpplib.client
import smpplib.smpp
from aiohttp import web
from google.protobuf import field_mask_pb2

from gateways.rest.app import build_app
from gateways.rest.settings import RestSettings
from gateways.smpp.server import SmppGateway
from gateways.smpp.settings import SmppGatewaySettings
from rcs.core.v1 import auth_service_pb2_grpc, settings_service_pb2_grpc
from rcs.core.v1 import settings_service_pb2 as ss
from rcs_core.auth.guard import FailedAuthGuard
from rcs_core.auth.servicer import AuthServicer
from rcs_core.settings.servicer import SettingsServicer
from rcs_runtime.grpc_client import open_channel
from tests.conftest import free_port
from tests.core_services import CoreServices
from tests.support import start_server

pytestmark = pytest.mark.integration
ACTOR = ss.Actor(login="root", remote_ip="127.0.0.1")
BATCH = "/api/batch/v3/messages"
ONE = {"messages": [{"from": "ACME", "to": "79034567890", "text": "hi"}]}


@dataclass
class Rig:
    settings: Any  # SettingsServiceStub
    base: str  # the REST gateway's URL
    smpp_port: int
    key: str

    async def patch(self, mask: str, password: str = "", **fields: Any) -> None:
        await self.settings.UpdatePartner(
            ss.UpdatePartnerRequest(
                actor=ACTOR,
                partner=ss.Partner(login="acme", **fields),
                update_mask=field_mask_pb2.FieldMask(paths=[mask]),
                password=password,
            )
        )

    async def post(self, path: str, *, source: str = "127.0.0.1", **kw: Any) -> int:
        """The status of a POST from ``source`` (any 127.0.0.0/8 address is this host)."""
        connector = aiohttp.TCPConnector(local_addr=(source, 0))
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.post(self.base + path, **kw) as resp,
        ):
            await resp.read()
            return resp.status

    async def batch(self, *, source: str = "127.0.0.1", key: str = "") -> int:
        headers = {"Authorization": f"Key {key or self.key}"}
        return await self.post(BATCH, source=source, json=ONE, headers=headers)

    async def v6(self, password: str = "s3cret") -> int:
        body = {
            "login": "acme",
            "password": password,
            "destAddr": "79034567890",
            "message": {"type": "SMS", "data": {"text": "hi", "serviceNumber": "ACME"}},
        }
        return await self.post("/api/v6/send", json=body)


@pytest.fixture
async def rig(pool: Any) -> AsyncIterator[Rig]:
    messages = CoreServices(pool, installation_id=7)
    guard = FailedAuthGuard(pool, base_delay_seconds=30)
    server = await start_server(
        lambda s: settings_service_pb2_grpc.add_SettingsServiceServicer_to_server(
            SettingsServicer(pool), s
        ),
        lambda s: auth_service_pb2_grpc.add_AuthServiceServicer_to_server(
            AuthServicer(pool, guard), s
        ),
        messages.register,
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    settings = settings_service_pb2_grpc.SettingsServiceStub(channel)
    await settings.CreatePartner(
        ss.CreatePartnerRequest(
            actor=ACTOR,
            partner=ss.Partner(login="acme", default_sender="ACME"),
            password="s3cret",
        )
    )
    key = (await settings.CreateApiKey(ss.CreateApiKeyRequest(actor=ACTOR, partner="acme"))).key
    # Caches on, as in production: what is tested is that they are dropped in time.
    rest = RestSettings(auth_cache_seconds=300, auth_revision_poll_seconds=0.1)
    runner = web.AppRunner(build_app(rest, channel))
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    smpp = SmppGateway(
        SmppGatewaySettings(smpp_port=0, auth_cache_seconds=300, auth_revision_poll_seconds=0.1),
        channel,
    )
    smpp_port = await smpp.start()
    yield Rig(settings, f"http://127.0.0.1:{port}", smpp_port, key)
    await smpp.stop()
    await runner.cleanup()
    await channel.close()
    await server.stop(0)
    await messages.close()


async def eventually(probe: Callable[[], Any], expected: Any, seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while (got := await probe()) != expected:
        assert asyncio.get_running_loop().time() < deadline, f"still {got!r}, not {expected!r}"
        await asyncio.sleep(0.05)


async def test_a_cached_key_is_still_refused_from_an_address_outside_the_allowlist(
    rig: Rig,
) -> None:
    """Issue 14: refused / allowed / refused gave 403, 200, 200 (the key was cached alone)."""
    await rig.patch("allowed_subnets", allowed_subnets=["127.0.0.1/32"])
    await asyncio.sleep(0.3)  # past a poll: the caches are dropped before the first request
    assert await rig.batch(source="127.0.0.2") == 403
    assert await rig.batch(source="127.0.0.1") == 200
    assert await rig.batch(source="127.0.0.2") == 403


async def test_a_changed_allowlist_password_or_revoked_key_applies_at_once(rig: Rig) -> None:
    assert await rig.batch() == 200
    assert await rig.v6() == 200
    await rig.patch("allowed_subnets", allowed_subnets=["10.0.0.0/8"])
    await eventually(rig.batch, 403)
    await eventually(rig.v6, 403)
    await rig.patch("allowed_subnets", allowed_subnets=[])
    await eventually(rig.v6, 200)
    await rig.patch("password", password="n3w-pass")
    await eventually(rig.v6, 401)
    assert await rig.v6("n3w-pass") == 200
    listed = await rig.settings.ListApiKeys(ss.ListApiKeysRequest(partner="acme"))
    await rig.settings.RevokeApiKey(
        ss.RevokeApiKeyRequest(actor=ACTOR, partner="acme", id=listed.api_keys[0].id)
    )
    await eventually(rig.batch, 401)


async def test_a_throttled_key_is_answered_429_in_rest_batchs_form(rig: Rig) -> None:
    """Issue 14: a throttled key was answered "unknown or revoked key" (401)."""
    for _ in range(10):
        assert await rig.batch(source="127.0.0.3", key="wrongkey123") == 401
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.3", 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        headers = {"Authorization": f"Key {rig.key}"}
        async with session.post(rig.base + BATCH, json=ONE, headers=headers) as resp:
            assert resp.status == 429
            assert 1 <= int(resp.headers["Retry-After"]) <= 30
            doc = await resp.json()
    assert doc["code"] == "REJECTED"
    assert doc["reasons"] == [{"key": "forbidden", "ref": ""}]
    assert "too many failed logins" in doc["description"]
    assert "retry in" in doc["description"]
    assert await rig.batch(source="127.0.0.1") == 200  # other addresses go on


async def test_a_throttled_rest_v6_login_is_told_when_to_retry(rig: Rig) -> None:
    for _ in range(10):
        assert await rig.v6("wrong") == 401
    body = {
        "login": "acme",
        "password": "s3cret",
        "destAddr": "79034567890",
        "message": {"type": "SMS", "data": {"text": "hi", "serviceNumber": "ACME"}},
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(rig.base + "/api/v6/send", json=body) as resp,
    ):
        assert resp.status == 429
        assert 1 <= int(resp.headers["Retry-After"]) <= 30
        doc = await resp.json()
    assert doc["error"] == {"code": 3, "description": "Too many connections"}


def _bind(port: int, password: str = "s3cret") -> smpplib.client.Client:
    client = smpplib.client.Client("127.0.0.1", port, timeout=10, allow_unknown_opt_params=True)
    client.connect()
    client.bind_transceiver(system_id="acme", password=password)
    return client


def _next_command(client: smpplib.client.Client) -> str:
    """The next PDU the gateway sends, answered when it is an unbind."""
    pdu = client.read_pdu()
    if pdu.command == "unbind":
        client.send_pdu(smpplib.smpp.make_pdu("unbind_resp", client=client, sequence=pdu.sequence))
    return str(pdu.command)


async def test_smpp_sessions_no_longer_allowed_are_unbound(rig: Rig) -> None:
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(2) as pool:
        client = await loop.run_in_executor(pool, _bind, rig.smpp_port)
        unbound = loop.run_in_executor(pool, _next_command, client)
        await asyncio.sleep(0.3)
        await rig.patch("default_ttl_seconds", default_ttl_seconds=7200)  # harmless change
        await asyncio.sleep(0.5)
        assert not unbound.done()  # the session was checked and kept
        await rig.patch("allowed_subnets", allowed_subnets=["10.0.0.0/8"])
        assert await asyncio.wait_for(unbound, 5) == "unbind"
        client.disconnect()
        await rig.patch("allowed_subnets", allowed_subnets=[])
        client = await loop.run_in_executor(pool, _bind, rig.smpp_port)
        unbound = loop.run_in_executor(pool, _next_command, client)
        await rig.patch("password", password="n3w-pass")
        assert await asyncio.wait_for(unbound, 5) == "unbind"
        client.disconnect()
        client = await loop.run_in_executor(pool, _bind, rig.smpp_port, "n3w-pass")
        client.disconnect()
