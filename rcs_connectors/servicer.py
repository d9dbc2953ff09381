"""ConnectorService: hands each message to the bind of its interface."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc

from rcs.connector.v1 import connector_service_pb2 as cs
from rcs.connector.v1 import connector_service_pb2_grpc
from rcs_connectors.smpp_bind import OperatorBind

Ctx = grpc.aio.ServicerContext[Any, Any]


class ConnectorServicer(connector_service_pb2_grpc.ConnectorServiceServicer):
    def __init__(self, binds: dict[str, OperatorBind]) -> None:
        self._binds = binds  # shared with the reload loop, which replaces entries

    async def SendMessages(
        self, request: cs.SendMessagesRequest, context: Ctx
    ) -> cs.SendMessagesResponse:
        async def one(m: cs.OutboundMessage) -> cs.SendResult:
            bind = self._binds.get(m.interface_id)
            if bind is None:
                # Settings may name an interface this connector has not loaded yet.
                return cs.SendResult(
                    message_id=m.message_id,
                    outcome=cs.SEND_OUTCOME_RETRY,
                    detail="unknown_interface",
                )
            return await bind.submit(m)

        results = await asyncio.gather(*(one(m) for m in request.messages))
        return cs.SendMessagesResponse(results=results)
