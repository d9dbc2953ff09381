"""What the cascade tests put in rcs_rpns's place until it lands: a real gRPC
ConnectorService on a free port that plays rpns's documented behaviour for CHANNEL_PUSH
(connector_service.proto): ACCEPTED with one push id, or REJECTED with rest_status.rst's
extended code; then DELIVERED / READ back to core through DeliveryService.RecordReceipts,
keyed by (its interface id, that push id). And a partner's report endpoint."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import grpc
from aiohttp import web

from rcs.common.v1 import channel_pb2, status_pb2
from rcs.connector.v1 import connector_service_pb2 as cs
from rcs.connector.v1 import connector_service_pb2_grpc
from rcs.core.v1 import delivery_service_pb2_grpc, message_service_pb2
from rcs_runtime.grpc_client import open_channel
from rcs_runtime.grpc_server import GrpcServer
from tests.conftest import free_port

Ctx = grpc.aio.ServicerContext[Any, Any]
INTERFACE_ID = "rpns"


@dataclass
class Device:
    """How the subscriber's installs answer a push: ``silent`` never confirms; ``delivered``
    / ``read`` confirm after ``delay`` seconds (``read`` after a DELIVERED); ``rejected``
    has no install (code 22, no-active-installations)."""

    kind: str = "delivered"
    delay: float = 0.3


@dataclass
class PushStandIn(connector_service_pb2_grpc.ConnectorServiceServicer):
    core_target: str
    devices: dict[str, Device] = field(default_factory=dict)
    sent: list[cs.OutboundMessage] = field(default_factory=list)
    receipts: list[tuple[str, int]] = field(default_factory=list)  # (destination, status)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def SendMessages(self, request: cs.SendMessagesRequest, context: Ctx) -> Any:
        results = []
        for m in request.messages:
            assert m.channel == channel_pb2.CHANNEL_PUSH, m
            self.sent.append(m)
            device = self.devices.get(m.destination, Device())
            if device.kind == "rejected":
                results.append(
                    cs.SendResult(
                        message_id=m.message_id,
                        outcome=cs.SEND_OUTCOME_REJECTED,
                        error_code=22,
                        detail="no-active-installations",
                    )
                )
                continue
            push_id = uuid.uuid4().hex
            results.append(
                cs.SendResult(
                    message_id=m.message_id,
                    outcome=cs.SEND_OUTCOME_ACCEPTED,
                    operator_message_ids=[push_id],
                    receipt_scope=INTERFACE_ID,
                    interface_id=INTERFACE_ID,
                    part_numbers=[1],
                    part_count=1,
                )
            )
            if device.kind in ("delivered", "read"):
                task = asyncio.get_running_loop().create_task(
                    self._confirm(m.destination, push_id, device)
                )
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        return cs.SendMessagesResponse(results=results)

    async def _confirm(self, destination: str, push_id: str, device: Device) -> None:
        """As rpns does: each outcome goes to core until core has it (it may be down)."""
        await asyncio.sleep(device.delay)
        statuses = [status_pb2.MESSAGE_STATUS_DELIVERED]
        if device.kind == "read":
            statuses.append(status_pb2.MESSAGE_STATUS_READ)
        channel = open_channel(self.core_target)
        try:
            stub = delivery_service_pb2_grpc.DeliveryServiceStub(channel)
            for status in statuses:
                request = message_service_pb2.RecordReceiptsRequest(
                    request_id=f"{push_id}-{status}",
                    receipts=[
                        message_service_pb2.Receipt(
                            interface_id=INTERFACE_ID,
                            operator_message_id=push_id,
                            status=status,
                        )
                    ],
                )
                for _ in range(120):
                    try:
                        await stub.RecordReceipts(request, timeout=5)
                        break
                    except grpc.aio.AioRpcError:
                        await asyncio.sleep(0.5)
                self.receipts.append((destination, status))
        finally:
            await channel.close()


async def start_push(core_target: str) -> tuple[PushStandIn, GrpcServer]:
    stand_in = PushStandIn(core_target)
    server = GrpcServer("127.0.0.1:0")
    connector_service_pb2_grpc.add_ConnectorServiceServicer_to_server(stand_in, server.server)
    await server.start()
    return stand_in, server


@dataclass
class ReportSink:
    """The partner's report URL: every REST v6 / REST_BATCH JSON body and HTTP v5 query."""

    reports: list[dict[str, Any]] = field(default_factory=list)
    runner: web.AppRunner | None = None
    port: int = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._take)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        self.port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def _take(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            self.reports.append(json.loads(await request.read()))
        else:
            self.reports.append(dict(request.query))
        return web.Response(text="OK")

    def url(self, path: str = "/dlr") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def of(self, key: str, value: str) -> list[dict[str, Any]]:
        return [r for r in self.reports if str(r.get(key)) == value]
