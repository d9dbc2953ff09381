"""ConnectorService: hands each message to a bind of its route, failing over in order.

Candidates are ``[interface_id, *fallback_interface_ids]`` (routing has applied the
weights), each tried at most once. One is skipped when this connector has not loaded it,
its bind is not bound, or its circuit breaker (health.py) is open. A transport-level
"retry" (smpp_bind.is_transport_failure) moves the message on to the next usable
candidate within the same call; any other answer — accepted, rejected for good, a "retry"
about the message — is the result. The result names the interface that produced it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from prometheus_client import Counter

from rcs.connector.v1 import connector_service_pb2 as cs
from rcs.connector.v1 import connector_service_pb2_grpc
from rcs_connectors.health import Breaker
from rcs_connectors.smpp_bind import OperatorBind, is_transport_failure

Ctx = grpc.aio.ServicerContext[Any, Any]
FAILOVERS = Counter(
    "rcs_connector_failovers_total",
    "Messages moved off an interface of their route (unusable or failing) to the next one",
    ["from_interface", "to_interface"],
)
UNKNOWN_INTERFACE = "unknown_interface"
NO_INTERFACE_AVAILABLE = "no_interface_available"


class ConnectorServicer(connector_service_pb2_grpc.ConnectorServiceServicer):
    def __init__(
        self,
        binds: dict[str, OperatorBind],
        *,
        breaker_failures: int = 5,
        breaker_cooldown_seconds: float = 10.0,
        bind_wait_seconds: float = 2.0,
    ) -> None:
        self._binds = binds  # shared with the reload loop, which replaces entries
        # Per interface id, with the bind it judges: a reloaded bind starts with a new one.
        self._breakers: dict[str, tuple[OperatorBind | None, Breaker]] = {}
        self._failures = breaker_failures
        self._cooldown = breaker_cooldown_seconds
        self._bind_wait = bind_wait_seconds

    def breaker(self, interface_id: str) -> Breaker:
        """The breaker of the interface's current bind."""
        return self._breaker(interface_id, self._binds.get(interface_id))

    def _breaker(self, interface_id: str, bind: OperatorBind | None) -> Breaker:
        found = self._breakers.get(interface_id)
        if found is not None and (found[0] is bind or found[0] is None):
            self._breakers[interface_id] = (bind, found[1])
            return found[1]
        breaker = Breaker(interface_id, threshold=self._failures, cooldown=self._cooldown)
        self._breakers[interface_id] = (bind, breaker)
        return breaker

    async def SendMessages(
        self, request: cs.SendMessagesRequest, context: Ctx
    ) -> cs.SendMessagesResponse:
        # Failover must not outlast the caller: a result that arrives after its deadline is
        # lost, and the dispatcher would send again what went out.
        remaining = context.time_remaining() if context is not None else None
        deadline = None if remaining is None else asyncio.get_running_loop().time() + remaining
        results = await asyncio.gather(*(self._send(m, deadline) for m in request.messages))
        return cs.SendMessagesResponse(results=results)

    async def _send(self, m: cs.OutboundMessage, deadline: float | None) -> cs.SendResult:
        loaded = [
            (i, self._binds[i])
            for i in dict.fromkeys((m.interface_id, *m.fallback_interface_ids))
            if i in self._binds
        ]
        if not loaded:
            # Settings may name interfaces this connector has not loaded yet.
            return self._unsent(m, UNKNOWN_INTERFACE)
        tried: set[str] = set()
        result: cs.SendResult | None = None
        leaving = m.interface_id  # the interface the message is moving away from
        while True:
            candidate = self._next_usable(loaded, tried)
            if candidate is None and not tried and await self._wait_for_a_bind(loaded):
                candidate = self._next_usable(loaded, tried)
            if candidate is None:
                return result or self._unsent(m, NO_INTERFACE_AVAILABLE)
            interface_id, bind = candidate
            if result is not None and not _time_for(bind, deadline):
                self._breaker(interface_id, bind).released()  # a trial it may have taken
                return result
            tried.add(interface_id)
            if interface_id != leaving:
                FAILOVERS.labels(leaving, interface_id).inc()
            leaving = interface_id
            result = await self._submit(interface_id, bind, m)
            # Parts this interface accepted stay with it: the retry sends only the others.
            if not is_transport_failure(result) or result.operator_message_ids:
                return result

    def _next_usable(
        self, loaded: list[tuple[str, OperatorBind]], tried: set[str]
    ) -> tuple[str, OperatorBind] | None:
        for interface_id, bind in loaded:
            # usable() last and only for a bound candidate: it may hand out the half-open
            # trial, which the submit that follows at once then settles.
            if (
                interface_id not in tried
                and bind.bound
                and self._breaker(interface_id, bind).usable()
            ):
                return interface_id, bind
        return None

    async def _wait_for_a_bind(self, loaded: list[tuple[str, OperatorBind]]) -> bool:
        """When no candidate is usable, waits briefly for one that is only not bound yet
        (start-up, reconnect) rather than answering "retry" at once; True if one came up."""
        waiting = [
            asyncio.ensure_future(bind.wait_bound())
            for interface_id, bind in loaded
            if not bind.bound and not self._breaker(interface_id, bind).is_open
        ]
        if not waiting or self._bind_wait <= 0:
            for task in waiting:
                task.cancel()
            return False
        try:
            done, _ = await asyncio.wait(
                waiting, timeout=self._bind_wait, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in waiting:
                task.cancel()
        return bool(done)

    async def _submit(
        self, interface_id: str, bind: OperatorBind, m: cs.OutboundMessage
    ) -> cs.SendResult:
        breaker = self._breaker(interface_id, bind)
        try:
            result = await bind.submit(m)
        except BaseException:
            breaker.released()
            raise
        result.interface_id = interface_id
        if is_transport_failure(result):
            breaker.failed()
        elif result.outcome in (cs.SEND_OUTCOME_ACCEPTED, cs.SEND_OUTCOME_REJECTED):
            breaker.succeeded()  # a rejection is the message's fault: the bind works
        else:
            breaker.released()
        return result

    @staticmethod
    def _unsent(m: cs.OutboundMessage, detail: str) -> cs.SendResult:
        return cs.SendResult(
            message_id=m.message_id,
            outcome=cs.SEND_OUTCOME_RETRY,
            detail=detail,
            interface_id=m.interface_id,
        )


def _time_for(bind: OperatorBind, deadline: float | None) -> bool:
    """Whether a submit on ``bind`` would still end before the caller's deadline."""
    if deadline is None:
        return True
    return deadline - asyncio.get_running_loop().time() > bind.longest_submit_seconds
