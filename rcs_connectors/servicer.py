"""ConnectorService: hands each message to a bind of its route, failing over in order."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from prometheus_client import Counter

from rcs.connector.v1 import connector_service_pb2 as cs
from rcs.connector.v1 import connector_service_pb2_grpc
from rcs_connectors.health import Breaker
from rcs_connectors.smpp_bind import OperatorBind

Ctx = grpc.aio.ServicerContext[Any, Any]
FAILOVERS = Counter(
    "rcs_connector_failovers_total",
    "Messages moved to the route's next interface",
    ["from_interface", "to_interface"],
)


class ConnectorServicer(connector_service_pb2_grpc.ConnectorServiceServicer):
    def __init__(
        self,
        binds: dict[str, OperatorBind],
        *,
        breaker_failures: int = 5,
        breaker_cooldown_seconds: float = 10.0,
    ) -> None:
        self._binds = binds  # shared with the reload loop, which replaces entries
        self._breakers: dict[str, Breaker] = {}
        self._failures = breaker_failures
        self._cooldown = breaker_cooldown_seconds

    def breaker(self, interface_id: str) -> Breaker:
        found = self._breakers.get(interface_id)
        if found is None:
            found = Breaker(interface_id, threshold=self._failures, cooldown=self._cooldown)
            self._breakers[interface_id] = found
        return found

    async def _send(self, m: cs.OutboundMessage) -> cs.SendResult:
        """The route's interfaces in order, skipping those not bound or failing, until one
        does not answer "retry". If none could be tried, the first one is (its submit
        waits briefly for the bind to come up)."""
        loaded = [
            (i, self._binds[i])
            for i in (m.interface_id, *m.fallback_interface_ids)
            if i in self._binds
        ]
        if not loaded:
            # Settings may name an interface this connector has not loaded yet.
            return cs.SendResult(
                message_id=m.message_id,
                outcome=cs.SEND_OUTCOME_RETRY,
                detail="unknown_interface",
                interface_id=m.interface_id,
            )
        result: cs.SendResult | None = None
        for interface_id, bind in loaded:
            # usable() is asked only right before a submit: it hands out the half-open trial.
            if not (bind.bound and self.breaker(interface_id).usable()):
                continue
            if result is not None:
                FAILOVERS.labels(result.interface_id, interface_id).inc()
            result = await self._submit(interface_id, bind, m)
            if result.outcome != cs.SEND_OUTCOME_RETRY:
                return result
        return result or await self._submit(*loaded[0], m)

    async def _submit(
        self, interface_id: str, bind: OperatorBind, m: cs.OutboundMessage
    ) -> cs.SendResult:
        result = await bind.submit(m)
        result.interface_id = interface_id
        # Only "retry" says the interface is in trouble; a rejection is the message's.
        self.breaker(interface_id).record(result.outcome != cs.SEND_OUTCOME_RETRY)
        return result

    async def SendMessages(
        self, request: cs.SendMessagesRequest, context: Ctx
    ) -> cs.SendMessagesResponse:
        results = await asyncio.gather(*(self._send(m) for m in request.messages))
        return cs.SendMessagesResponse(results=results)
