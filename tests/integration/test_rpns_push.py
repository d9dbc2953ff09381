"""A push from core's dispatcher through rpns to the PNS simulator and back, all over real
sockets: rpns fans out to the number's two installs (one token dead at the simulator),
the live device confirms through rpns's SDK endpoint, the dead install is disabled, and
core stores DELIVERED from rpns's RecordReceipts.

Core's dispatcher sends PUSH unrouted to its push target (RCS_PUSH_TARGET) with the stored
body; ``Recorder`` sits on that address and forwards each call unchanged to rpns, keeping
what the dispatcher sent and what rpns answered."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from rcs.common.v1 import channel_pb2, message_pb2
from rcs.connector.v1 import connector_service_pb2 as cs
from rcs.connector.v1 import connector_service_pb2_grpc
from rcs.routing.v1 import routing_service_pb2_grpc
from rcs.rpns.v1 import app_service_pb2, device_service_pb2
from rcs_core.auth import partners_store as partners
from rcs_core.config import CoreSettings
from rcs_core.delivery.dispatcher import Dispatcher
from rcs_core.messages import store as messages
from rcs_core.messages.idalloc import IdAllocator
from rcs_core.messages.model import NewMessage
from rcs_core.messages.statuses import Status
from rcs_core.reports.desk import ReportDesk
from rcs_runtime.grpc_client import open_channel
from rcs_runtime.grpc_server import GrpcServer
from tests.core_services import CoreServices
from tests.rpns_rig import PushRig, app_with_every_provider, push_rig
from tests.support import Ctx, start_server

pytestmark = pytest.mark.integration
NUMBER = "79160000001"
IOS_TOKEN = "ab" * 32
DEAD_ANDROID_TOKEN = "fcm-token-of-an-uninstalled-app"
BODY = message_pb2.PushContent(
    service_number="ACME_APP", title="Order 1042", text="Your order has shipped"
)


class Recorder(connector_service_pb2_grpc.ConnectorServiceServicer):
    """Forwards SendMessages to rpns as is; keeps the requests and results."""

    def __init__(self, target: connector_service_pb2_grpc.ConnectorServiceAsyncStub) -> None:
        self.target = target
        self.sent: list[cs.OutboundMessage] = []
        self.results: list[cs.SendResult] = []

    async def SendMessages(self, request: Any, context: Ctx) -> Any:
        self.sent.extend(request.messages)
        response = await self.target.SendMessages(request, timeout=10)
        self.results.extend(response.results)
        return response


@pytest.fixture
async def core(pool: AsyncConnectionPool) -> AsyncIterator[GrpcServer]:
    desk = ReportDesk(pool, retry_base_seconds=0.2, retry_max_seconds=0.5)
    servicer = CoreServices(pool, installation_id=7, reports=desk)
    server = await start_server(servicer.register)
    yield server
    await server.stop(0)
    await servicer.close()


@pytest.fixture
async def rig(database_url: str, tmp_path: Path, core: GrpcServer) -> AsyncIterator[PushRig]:
    async with push_rig(database_url, tmp_path, core_target=f"127.0.0.1:{core.port}") as r:
        yield r


async def _register(rig: PushRig, api_key: str, **fields: Any) -> dict[str, Any]:
    response = await rig.rpns.sdk.post(
        "/api/sdk/v1/installations", json=fields, headers={"X-Api-Key": api_key}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _status(dsn: str, message_id: int) -> tuple[Status, int]:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute(
            "SELECT status, error_code FROM messages WHERE id = %s", (message_id,)
        )
        row = await cur.fetchone()
        assert row is not None
        return Status(row[0]), row[1]


async def test_push_to_two_installs_one_dead_is_delivered_and_the_dead_install_disabled(
    rig: PushRig, pool: AsyncConnectionPool, database_url: str
) -> None:
    put = await rig.rpns.apps.PutApp(
        app_service_pb2.PutAppRequest(app=app_with_every_provider("acme", "ACME_APP"))
    )
    key = put.app.api_key
    ios = await _register(rig, key, platform="IOS", token=IOS_TOKEN, phone=NUMBER)
    android = await _register(
        rig, key, platform="ANDROID", token=DEAD_ANDROID_TOKEN, phone=NUMBER, appVersion="3.1"
    )
    await rig.sim.tokens({DEAD_ANDROID_TOKEN: "unregistered"})

    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        partner_id = await partners.upsert(conn, "acme", "pw")
        (accepted,) = await messages.accept(
            conn,
            ids=IdAllocator(7),
            partner_id=partner_id,
            messages=[
                NewMessage(
                    None,
                    int(channel_pb2.CHANNEL_PUSH),
                    NUMBER,
                    "ACME_APP",
                    "Your order has shipped",
                    0,
                    dt.timedelta(hours=1),
                    2,
                    "",
                    push=BODY.SerializeToString(),
                )
            ],
        )
        await conn.commit()
    mid = accepted.message_id
    rpns_channel = open_channel(rig.rpns.settings.rpns_bind)
    recorder = Recorder(connector_service_pb2_grpc.ConnectorServiceStub(rpns_channel))
    server = await start_server(
        lambda s: connector_service_pb2_grpc.add_ConnectorServiceServicer_to_server(recorder, s),
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    try:
        dispatcher = Dispatcher(
            CoreSettings(database_url=database_url),
            pool,
            routing_service_pb2_grpc.RoutingServiceStub(channel),  # a push is not routed
            connector_service_pb2_grpc.ConnectorServiceStub(channel),
            connector_service_pb2_grpc.ConnectorServiceStub(channel),
        )
        assert await dispatcher.dispatch_once() == 1
        (sent,) = recorder.sent
        assert (sent.channel, sent.partner, sent.interface_id, sent.push) == (
            channel_pb2.CHANNEL_PUSH,
            "acme",
            "rpns",
            BODY,
        )
        (result,) = recorder.results
        assert result.outcome == cs.SEND_OUTCOME_ACCEPTED
        assert len(result.operator_message_ids) == 1
        assert await _status(database_url, mid) == (Status.SENT, 0)

        for _ in range(600):  # up to 30 s on a loaded host
            if (await _status(database_url, mid))[0] == Status.DELIVERED:
                break
            await asyncio.sleep(0.05)
        assert await _status(database_url, mid) == (Status.DELIVERED, 0)
    finally:
        await channel.close()
        await rpns_channel.close()
        await server.stop(0)

    dead = await rig.rpns.devices.GetInstall(
        device_service_pb2.GetInstallRequest(install_id=android["installationId"])
    )
    assert not dead.install.active
    assert dead.install.disabled_reason == "fcm_404_UNREGISTERED"
    live = await rig.rpns.devices.GetInstall(
        device_service_pb2.GetInstallRequest(install_id=ios["installationId"])
    )
    assert live.install.active
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(
            "SELECT i.platform, d.state, d.error_code FROM rpns_deliveries d"
            " JOIN rpns_installs i ON i.id = d.install_id ORDER BY i.platform"
        )
        assert await cur.fetchall() == [(1, 2, 0), (2, 4, 26)]
    (apns_request,) = await rig.sim.requests("apns")
    assert apns_request["headers"]["apns-topic"] == "ru.example.app"
    assert apns_request["headers"]["apns-push-type"] == "alert"
