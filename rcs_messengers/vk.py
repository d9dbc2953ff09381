"""VK: each message is one messages.send call from the community to the user's number
(vk_wire), and the community's Callback API server (POST /vk/callback) passing
message_reply / message_read events to core as receipts.

Callbacks carry the community's secret key: a wrong or missing one is answered 401 and
nothing is done. An event_id seen again recently is answered "ok" and not passed on (core
would ignore the receipt anyway); when core does not store the receipts the answer is 503,
so VK sends the event again."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections import OrderedDict

import httpx
from aiohttp import web

from rcs.connector.v1 import connector_service_pb2 as cs
from rcs.core.v1 import delivery_service_pb2_grpc
from rcs_messengers import vk_wire
from rcs_messengers.provider_call import Answer, result_of
from rcs_messengers.receipts import ReceiptRecorder

log = logging.getLogger(__name__)
_REMEMBERED = 100_000


class VkSender:
    def __init__(
        self,
        http: httpx.AsyncClient,
        api_url: str,
        token: str,
        group_id: int,
        interface_id: str,
        concurrency: int,
    ) -> None:
        self._http = http
        self._url = api_url.rstrip("/") + "/method/messages.send"
        self._token = token
        self._group_id = group_id
        self._interface_id = interface_id
        self._slots = asyncio.Semaphore(concurrency)

    async def __call__(self, m: cs.OutboundMessage) -> cs.SendResult:
        params = vk_wire.params_of(m.sms.text, m.destination, m.message_id, self._group_id)
        async with self._slots:
            try:
                r = await self._http.post(
                    self._url, data=params, headers={"Authorization": f"Bearer {self._token}"}
                )
            except httpx.HTTPError as err:
                log.warning("vk_send_failed", extra={"error": type(err).__name__})
                return result_of(m, Answer(retry=True, detail="vk_unreachable"), self._interface_id)
        try:
            doc = r.json()
        except json.JSONDecodeError:
            doc = None
        return result_of(m, vk_wire.answer_of(r.status_code, doc), self._interface_id)


class VkCallback:
    def __init__(
        self,
        core: delivery_service_pb2_grpc.DeliveryServiceAsyncStub,
        secret: str,
        confirmation: str,
        interface_id: str,
        core_timeout: float,
    ) -> None:
        self._recorder = ReceiptRecorder("vk", core, interface_id, core_timeout)
        self._secret = secret
        self._confirmation = confirmation
        self._done: OrderedDict[str, None] = OrderedDict()

    async def handle(self, request: web.Request) -> web.Response:
        try:
            doc = json.loads(await request.read())
        except ValueError:
            return web.Response(status=400, text="the body is not JSON")
        if not isinstance(doc, dict):
            return web.Response(status=400, text="the body is not a JSON object")
        given = str(doc.get("secret") or "")
        if not given or not hmac.compare_digest(given.encode(), self._secret.encode()):
            log.warning("vk_callback_bad_secret")
            return web.Response(status=401, text="bad or missing secret")
        if doc.get("type") == "confirmation":
            return web.Response(text=self._confirmation)
        event_id = str(doc.get("event_id") or "")
        if event_id and event_id in self._done:
            return web.Response(text="ok")
        try:
            event = vk_wire.event_of(doc)
        except ValueError as err:
            return web.Response(status=400, text=str(err))
        if event is not None and not await self._recorder.record([event]):
            return web.Response(status=503, text="try again")
        if event_id:
            self._done[event_id] = None
            while len(self._done) > _REMEMBERED:
                self._done.popitem(last=False)
        return web.Response(text="ok")
