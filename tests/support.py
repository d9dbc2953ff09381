"""Test doubles behind the real gRPC seams, helpers to start servers on port 0, one to hold
a message half-stored, and the demo data / administrators as quick fixtures (written through
core's settings revision path in process, like `rcs seed-demo` and `rcs admin-user` do
against a running core)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
from collections.abc import Callable
from typing import Any

import grpc
import psycopg

from rcs.connector.v1 import connector_service_pb2, connector_service_pb2_grpc
from rcs.core.v1 import settings_service_pb2 as ss
from rcs.core.v1 import settings_service_pb2_grpc
from rcs.routing.v1 import routing_service_pb2, routing_service_pb2_grpc
from rcs.rpns.v1 import app_service_pb2_grpc, device_service_pb2_grpc
from rcs_cli import seed
from rcs_core.auth.passwords import hash_password
from rcs_core.messages import store as messages
from rcs_core.messages.idalloc import IdAllocator
from rcs_core.messages.validation import submission_of, validate
from rcs_core.settings import admins
from rcs_core.settings.servicer import SettingsServicer
from rcs_rpns.providers.credentials import Credentials
from rcs_rpns.servicer import AppServicer, DeviceServicer, credentials_of
from rcs_runtime.db import open_pool
from rcs_runtime.grpc_client import open_channel
from rcs_runtime.grpc_server import GrpcServer

Ctx = grpc.aio.ServicerContext[Any, Any]


class FakeRouting(routing_service_pb2_grpc.RoutingServiceServicer):
    """Routes numbers starting with 7 to interface 'if-1'; others are unrouted (11)."""

    async def ResolveRoutes(
        self, request: routing_service_pb2.ResolveRoutesRequest, context: Ctx
    ) -> routing_service_pb2.ResolveRoutesResponse:
        routes = []
        for q in request.queries:
            if q.destination.startswith("7"):
                routes.append(
                    routing_service_pb2.Route(
                        found=True,
                        direction="ru",
                        operator="op",
                        interface_id="if-1",
                        sender=q.sender,
                    )
                )
            else:
                routes.append(routing_service_pb2.Route(found=False, error_code=11))
        return routing_service_pb2.ResolveRoutesResponse(routes=routes)

    async def ExplainRoute(
        self, request: routing_service_pb2.ExplainRouteRequest, context: Ctx
    ) -> routing_service_pb2.ExplainRouteResponse:
        resolved = await self.ResolveRoutes(
            routing_service_pb2.ResolveRoutesRequest(queries=[request.query]), context
        )
        return routing_service_pb2.ExplainRouteResponse(
            route=resolved.routes[0], steps=["fake routing: 7… → if-1"]
        )


Decide = Callable[[connector_service_pb2.OutboundMessage], connector_service_pb2.SendResult]


class FakeConnector(connector_service_pb2_grpc.ConnectorServiceServicer):
    """Answers with ``decide(message)``; by default accepts with one operator id 'A<id>'."""

    def __init__(self, decide: Decide | None = None) -> None:
        self.received: list[connector_service_pb2.OutboundMessage] = []
        self.decide = decide or (
            lambda m: connector_service_pb2.SendResult(
                message_id=m.message_id,
                outcome=connector_service_pb2.SEND_OUTCOME_ACCEPTED,
                operator_message_ids=[format(int(m.message_id), "x")],
            )
        )

    async def SendMessages(
        self, request: connector_service_pb2.SendMessagesRequest, context: Ctx
    ) -> connector_service_pb2.SendMessagesResponse:
        self.received.extend(request.messages)
        return connector_service_pb2.SendMessagesResponse(
            results=[self.decide(m) for m in request.messages]
        )


async def start_server(*register: Callable[[grpc.aio.Server], None]) -> GrpcServer:
    server = GrpcServer("127.0.0.1:0")
    for reg in register:
        reg(server.server)
    await server.start()
    return server


async def accept_uncommitted(
    conn: psycopg.AsyncConnection, login: str, submission: Any, *, default_sender: str
) -> messages.Accepted:
    """Store one message for ``login`` in ``conn``'s open transaction, as core's accept
    does, and leave it uncommitted: a request still being stored, for the tests of what a
    concurrent repeat of its reference gets."""
    cur = await conn.execute("SELECT id FROM partners WHERE login = %s", (login,))
    row = await cur.fetchone()
    assert row is not None, f"no partner {login!r}"
    (stored,) = await messages.accept(
        conn,
        ids=IdAllocator(7),
        partner_id=row[0],
        messages=[
            validate(
                submission_of(submission),
                default_sender=default_sender,
                default_ttl=dt.timedelta(hours=1),
                trace_parent="",
            )
        ],
    )
    return stored


async def admin_user_cli(core_target: str, login: str, password: str) -> tuple[int, str]:
    """`rcs admin-user LOGIN` against the core at ``core_target``: its exit code and stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rcs_cli",
        "admin-user",
        login,
        env={**os.environ, "RCS_CORE_TARGET": core_target, "RCS_ADMIN_PASSWORD": password},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, err.decode()


async def seed_demo(dsn: str, *, smsc_host: str, smsc_port: int) -> None:
    """What `rcs seed-demo` writes on core (partner demo/demo routed to the SMSC at
    ``smsc_host:smsc_port``), through an in-process SettingsService on ``dsn``: real
    revisions, as against a running core."""
    pool = await open_pool(dsn, min_size=1, max_size=2)
    server = await start_server(
        lambda s: settings_service_pb2_grpc.add_SettingsServiceServicer_to_server(
            SettingsServicer(pool), s
        )
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    try:
        await seed.seed_settings(
            settings_service_pb2_grpc.SettingsServiceStub(channel),
            ss.Actor(login="rcs seed-demo", remote_ip=""),
            smsc_host=smsc_host,
            smsc_port=smsc_port,
        )
    finally:
        await channel.close()
        await server.stop(0)
        await pool.close()


async def seed_push_demo(dsn: str) -> str:
    """What `rcs seed-demo` writes on rpns (the demo application and its two devices),
    through in-process AppService and DeviceService on ``dsn``; the application's api key."""
    pool = await open_pool(dsn, min_size=1, max_size=2)
    server = await start_server(
        lambda s: app_service_pb2_grpc.add_AppServiceServicer_to_server(AppServicer(pool), s),
        lambda s: device_service_pb2_grpc.add_DeviceServiceServicer_to_server(
            DeviceServicer(pool), s
        ),
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    try:
        return await seed.seed_push(channel)
    finally:
        await channel.close()
        await server.stop(0)
        await pool.close()


async def upsert_admin(dsn: str, login: str, password: str) -> None:
    """Create an administrator or set their password, as one settings revision."""
    async with await psycopg.AsyncConnection.connect(dsn) as conn, conn.transaction():
        await admins.save_admin(conn, login, hash_password(password), actor="rcs admin-user")


def demo_push_credentials() -> Credentials:
    """The demo application's credentials (keys of the right kinds, made now)."""
    return credentials_of(seed.demo_app())
