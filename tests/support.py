"""Test doubles behind the real gRPC seams, helpers to start servers on port 0, and one to
hold a message half-stored."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any

import grpc
import psycopg

from rcs.connector.v1 import connector_service_pb2, connector_service_pb2_grpc
from rcs.routing.v1 import routing_service_pb2, routing_service_pb2_grpc
from rcs_core.messages import store as messages
from rcs_core.messages.idalloc import IdAllocator
from rcs_core.messages.validation import submission_of, validate
from rcs_runtime.grpc_server import GrpcServer
from tests.forked import rcs

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


async def admin_user_cli(database_url: str, login: str, password: str) -> tuple[int, str]:
    """`rcs admin-user LOGIN` against ``database_url``: its exit code and stderr."""
    env = {**os.environ, "RCS_DATABASE_URL": database_url, "RCS_ADMIN_PASSWORD": password}
    code, _, err = await rcs("admin-user", login, env=env)
    return code, err
