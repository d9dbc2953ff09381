"""ConnectorService for CHANNEL_VIBER: each message is one send_message call to Viber.

ACCEPTED carries Viber's message token as the operator id (receipts name it); REJECTED
the extended code of what Viber refused; RETRY when Viber could not answer. A repeated
message id (the dispatcher retrying a call whose answer it lost) gets the token of its
first send while this process lives (docs/viber.md: a restart forgets them)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import httpx

from rcs.common.v1 import channel_pb2
from rcs.connector.v1 import connector_service_pb2 as cs
from rcs.connector.v1 import connector_service_pb2_grpc
from rcs_messengers import viber_wire
from rcs_messengers.outcome import Answer, result_of

log = logging.getLogger(__name__)
Ctx = grpc.aio.ServicerContext[Any, Any]
DEFAULT_TTL = 86400  # rest_viber.rst's longest, when core sends no validity
_REMEMBERED = 100_000


class ViberConnectorServicer(connector_service_pb2_grpc.ConnectorServiceServicer):
    def __init__(
        self, http: httpx.AsyncClient, api_url: str, token: str, interface_id: str, concurrency: int
    ) -> None:
        self._http = http
        self._url = api_url.rstrip("/") + "/pa/send_message"
        self._token = token
        self._interface_id = interface_id
        self._slots = asyncio.Semaphore(concurrency)
        self._sent: OrderedDict[str, str] = OrderedDict()  # message id → Viber token
        # The other channels this service sends (VK, FlashingCall), each its own sender.
        self.others: dict[int, Callable[[cs.OutboundMessage], Awaitable[cs.SendResult]]] = {}

    async def SendMessages(
        self, request: cs.SendMessagesRequest, context: Ctx
    ) -> cs.SendMessagesResponse:
        results = await asyncio.gather(*(self._send(m) for m in request.messages))
        return cs.SendMessagesResponse(results=results)

    async def _send(self, m: cs.OutboundMessage) -> cs.SendResult:
        if m.channel in self.others:
            return await self.others[m.channel](m)
        if m.channel != channel_pb2.CHANNEL_VIBER:
            detail = f"channel {m.channel} is not configured on this messenger service"
            return self._result(m, Answer(error_code=1, detail=detail))
        if m.message_id in self._sent:
            return self._result(m, Answer(token=self._sent[m.message_id]))
        ttl = DEFAULT_TTL
        if m.HasField("valid_until"):
            left = m.valid_until.ToDatetime(dt.UTC) - dt.datetime.now(dt.UTC)
            ttl = max(30, int(left.total_seconds()))
        body = viber_wire.body_of(m.viber, m.destination, ttl, m.message_id)
        async with self._slots:
            try:
                r = await self._http.post(
                    self._url, json=body, headers={"X-Viber-Auth-Token": self._token}
                )
            except httpx.HTTPError as err:
                log.warning("viber_send_failed", extra={"error": type(err).__name__})
                return self._result(m, Answer(retry=True, detail="viber_unreachable"))
        try:
            doc = r.json()
        except json.JSONDecodeError:
            doc = None
        answer = viber_wire.answer_of(r.status_code, doc)
        if answer.token:
            self._sent[m.message_id] = answer.token
            while len(self._sent) > _REMEMBERED:
                self._sent.popitem(last=False)
        return self._result(m, answer)

    def _result(self, m: cs.OutboundMessage, a: Answer) -> cs.SendResult:
        return result_of(m, a, self._interface_id)
