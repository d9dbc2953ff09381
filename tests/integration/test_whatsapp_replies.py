"""A subscriber's WhatsApp reply reaches the partner as MO: the WhatsApp simulator posts a
signed ``messages`` notification to the messenger service's webhook, which hands it to core
(RecordInbound over gRPC, real PostgreSQL); core routes it by the business number to the
partner that owns it and owes that partner the MO report (rest_mo.rst's REST v6 format).
A replayed notification is recorded once; a forged one not at all."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest
from aiohttp import web

from rcs.core.v1 import delivery_service_pb2_grpc, settings_service_pb2_grpc
from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import settings_service_pb2 as ss
from rcs_core.settings.servicer import SettingsServicer
from rcs_messengers.whatsapp_webhook import WhatsAppWebhook, add_routes
from rcs_runtime.grpc_client import open_channel
from rcs_simulators.whatsapp.app import build_app
from rcs_simulators.whatsapp.provider import Business
from tests.conftest import free_port
from tests.core_services import CoreServices
from tests.support import start_server

pytestmark = pytest.mark.integration
ADMIN = ss.Actor(login="admin", remote_ip="10.0.0.5")
BUSINESS_NUMBER, SUBSCRIBER, SECRET = "79000000000", "79161234567", "wa-secret"


async def _site(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, port


@pytest.fixture
async def rig(pool: Any) -> AsyncIterator[tuple[str, str]]:
    servicer = CoreServices(pool, installation_id=7)
    server = await start_server(
        servicer.register,
        lambda s: settings_service_pb2_grpc.add_SettingsServiceServicer_to_server(
            SettingsServicer(pool), s
        ),
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    settings = settings_service_pb2_grpc.SettingsServiceStub(channel)
    await settings.CreatePartner(
        ss.CreatePartnerRequest(
            actor=ADMIN,
            partner=ss.Partner(login="shop", inbound_url="https://shop.test/mo"),
            password="pw",
        )
    )
    route = ss.InboundRoute(
        name="shop-whatsapp",
        number=BUSINESS_NUMBER,
        partner="shop",
        format=ms.REPORT_FORMAT_REST_V6,
    )
    await settings.PutInboundRoute(ss.PutInboundRouteRequest(actor=ADMIN, route=route))
    webhook_app = web.Application()
    add_routes(
        webhook_app,
        WhatsAppWebhook(
            delivery_service_pb2_grpc.DeliveryServiceStub(channel), SECRET, "v", "messengers", 5.0
        ),
    )
    webhook_runner, webhook_port = await _site(webhook_app)
    business = Business(
        phone_number_id="1",
        display_number=BUSINESS_NUMBER,
        access_token="t",
        app_secret=SECRET,
        webhook_url=f"http://127.0.0.1:{webhook_port}/whatsapp/webhook",
        default_outcome="read",
        outcomes={},
        open_sessions=set(),
        templates=set(),
        deliver_delay=0.0,
        read_delay=0.0,
        retry_seconds=0.2,
        attempts=5,
    )
    sim_runner, sim_port = await _site(build_app(business))
    try:
        yield f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{webhook_port}/whatsapp/webhook"
    finally:
        await business.close()
        await sim_runner.cleanup()
        await webhook_runner.cleanup()
        await channel.close()
        await server.stop(0)
        await servicer.close()


async def rows(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute(sql)
        return await cur.fetchall()


async def test_a_reply_reaches_the_number_owner_as_mo_once(
    rig: tuple[str, str], database_url: str
) -> None:
    sim, webhook = rig
    async with httpx.AsyncClient() as http:
        r = await http.post(
            f"{sim}/sim/reply",
            json={"from": SUBSCRIBER, "text": "Да, подтверждаю 👍", "context": "wamid.X"},
        )
        assert r.status_code == 200, r.text
        for _ in range(50):
            if await rows(database_url, "SELECT 1 FROM inbound_messages"):
                break
            await asyncio.sleep(0.1)
        stored = await rows(
            database_url,
            "SELECT m.source, m.destination, m.body, p.login FROM inbound_messages m"
            " JOIN partners p ON p.id = m.partner_id",
        )
        assert stored == [(SUBSCRIBER, BUSINESS_NUMBER, "Да, подтверждаю 👍", "shop")]
        owed = await rows(database_url, "SELECT format, url FROM report_outbox WHERE kind = 2")
        assert owed == [(3, "https://shop.test/mo")]

        # The notification replayed as sent: accepted, recorded once.
        (sent,) = (await http.get(f"{sim}/sim/notifications")).json()
        assert json.loads(sent["body"])["entry"][0]["changes"][0]["value"]["messages"]
        headers = {"X-Hub-Signature-256": sent["signature"], "Content-Type": "application/json"}
        again = await http.post(webhook, content=sent["body"].encode(), headers=headers)
        assert again.status_code == 200, again.text
        # Forged (another body under the same signature): refused, nothing recorded.
        forged = sent["body"].replace(SUBSCRIBER, "79990000000")
        assert forged != sent["body"]
        assert (
            await http.post(webhook, content=forged.encode(), headers=headers)
        ).status_code == 401
    assert len(await rows(database_url, "SELECT 1 FROM inbound_messages")) == 1
    assert len(await rows(database_url, "SELECT 1 FROM report_outbox WHERE kind = 2")) == 1
