"""WhatsApp's webhook (GET and POST /whatsapp/webhook): the subscription handshake, then
signed notifications whose statuses go to core as receipts keyed by (this interface,
wamid), and whose subscriber messages go to core as MO (RecordInbound, from the subscriber
to the business number, routed to the partner owning that number like an SMS MO).

Answers: 401 for a missing or wrong X-Hub-Signature-256 (nothing is done); 400 for a
malformed notification; 503 when core did not store the receipts, so WhatsApp sends the
notification again; 200 otherwise. A replayed notification changes nothing: core applies a
receipt it already has without effect, and the same (wamid, status) seen again here
recently is not passed on at all; a replayed message is the same RecordInbound request
(its wamids are the idempotency key), which core answers once."""

from __future__ import annotations

import hmac
import json
import logging

import grpc
from aiohttp import web
from google.protobuf import timestamp_pb2

from rcs.core.v1 import message_service_pb2, message_service_pb2_grpc
from rcs_messengers import whatsapp_wire
from rcs_messengers.receipts import ReceiptRecorder

log = logging.getLogger(__name__)


class WhatsAppWebhook:
    def __init__(
        self,
        core: message_service_pb2_grpc.MessageServiceAsyncStub,
        app_secret: str,
        verify_token: str,
        interface_id: str,
        core_timeout: float,
    ) -> None:
        self._core = core
        self._secret = app_secret
        # The app secrets of WhatsApp interfaces configured as settings (their webhooks).
        self.secrets: set[str] = set()
        self._verify_token = verify_token
        self._interface_id = interface_id
        self._timeout = core_timeout
        self._receipts = ReceiptRecorder("whatsapp", core, interface_id, core_timeout)

    async def verify(self, request: web.Request) -> web.Response:
        """The subscription handshake: echo hub.challenge when hub.verify_token is ours."""
        q = request.query
        given = q.get("hub.verify_token", "")
        if q.get("hub.mode") != "subscribe" or not hmac.compare_digest(
            given.encode(), self._verify_token.encode()
        ):
            return web.Response(status=403, text="wrong hub.mode or hub.verify_token")
        return web.Response(text=q.get("hub.challenge", ""))

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        given = request.headers.get("X-Hub-Signature-256", "")
        if not given or not any(
            whatsapp_wire.signature_ok(s, body, given) for s in (self._secret, *self.secrets) if s
        ):
            log.warning("whatsapp_webhook_bad_signature")
            return web.json_response({"error": "bad or missing X-Hub-Signature-256"}, status=401)
        try:
            doc = json.loads(body)
            events = whatsapp_wire.events_of(doc)
            replies = whatsapp_wire.replies_of(doc)
        except ValueError as err:
            return web.json_response({"error": str(err)}, status=400)
        fresh = self._receipts.fresh(events)
        if not await self._receipts.record(fresh):
            return web.json_response({"error": "try again"}, status=503)
        if replies and not await self._inbound(replies):
            return web.json_response({"error": "try again"}, status=503)
        return web.json_response({"ok": True, "repeated": not fresh and bool(events)})

    async def _inbound(self, replies: list[whatsapp_wire.Reply]) -> bool:
        parts = []
        for r in replies:
            at = timestamp_pb2.Timestamp()
            at.FromDatetime(r.at)
            parts.append(
                message_service_pb2.InboundPart(
                    interface_id=self._interface_id,
                    source=r.sender,
                    destination=r.business_number,
                    data_coding=8,  # UCS-2: a messenger's text is any Unicode
                    payload=r.text.encode("utf-16-be"),
                    receive_time=at,
                )
            )
        request = message_service_pb2.RecordInboundRequest(
            request_id="whatsapp:" + ",".join(r.wamid for r in replies), parts=parts
        )
        try:
            await self._core.RecordInbound(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            log.warning("whatsapp_reply_not_recorded", extra={"code": err.code().name})
            return False
        return True


def add_routes(app: web.Application, webhook: WhatsAppWebhook) -> None:
    app.router.add_get("/whatsapp/webhook", webhook.verify)
    app.router.add_post("/whatsapp/webhook", webhook.handle)
