"""WhatsApp's webhook (GET and POST /whatsapp/webhook): the subscription handshake, then
signed notifications whose statuses go to core as receipts keyed by (this interface,
wamid), and whose subscriber messages go to core as MO (RecordInbound, from the subscriber
to the business number, routed to the partner owning that number like an SMS MO).

Answers: 401 for a missing or wrong X-Hub-Signature-256 (nothing is done); 400 for a
malformed notification; 503 when core did not store the receipts, so WhatsApp sends the
notification again; 200 otherwise. A replayed notification changes nothing: core applies a
receipt it already has without effect, and the same (wamid, status) seen again here
recently is not passed on at all; a replayed message is the same RecordInbound request
(its wamids are the idempotency key), which core answers once.

A reply names the message it answers by its wamid (``context.id``), which core matches
like a receipt; a media reply names its media by id, turned into its link with the Cloud
API's GET /{media-id} (``media_link``) before the MO goes to core: when that fails the
notification is answered 503 and sent again."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from rcs.common.v1 import channel_pb2
from rcs.core.v1 import delivery_service_pb2_grpc
from rcs_messengers import whatsapp_wire
from rcs_messengers.inbound import InboundRecorder, Reply
from rcs_messengers.receipts import ReceiptRecorder

MediaLink = Callable[[str], Awaitable[str]]  # media id → its URL; ValueError when unknown

log = logging.getLogger(__name__)


class WhatsAppWebhook:
    def __init__(
        self,
        core: delivery_service_pb2_grpc.DeliveryServiceAsyncStub,
        app_secret: str,
        verify_token: str,
        interface_id: str,
        core_timeout: float,
        media_link: MediaLink | None = None,
    ) -> None:
        self._secret = app_secret
        # The app secrets of WhatsApp interfaces configured as settings (their webhooks).
        self.secrets: set[str] = set()
        self._verify_token = verify_token
        # The verify tokens of WhatsApp interfaces configured as settings (their handshakes).
        self.verify_tokens: set[str] = set()
        self._receipts = ReceiptRecorder("whatsapp", core, interface_id, core_timeout)
        self._replies = InboundRecorder(
            "whatsapp", channel_pb2.CHANNEL_WHATSAPP, core, interface_id, core_timeout
        )
        self._media_link = media_link

    async def verify(self, request: web.Request) -> web.Response:
        """The subscription handshake: echo hub.challenge when hub.verify_token is ours."""
        q = request.query
        given = q.get("hub.verify_token", "").encode()
        if q.get("hub.mode") != "subscribe" or not any(
            t and hmac.compare_digest(given, t.encode())
            for t in (self._verify_token, *self.verify_tokens)
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
        out = []
        for r in replies:
            link = ""
            if r.media_id and self._media_link is not None:
                try:
                    link = await self._media_link(r.media_id)
                except ValueError as err:
                    log.warning("whatsapp_media_link_failed", extra={"error": str(err)[:200]})
                    return False
            out.append(
                Reply(
                    provider_id=r.wamid,
                    sender=r.sender,
                    destination=r.business_number,
                    text=r.text,
                    at=r.at,
                    media_url=link,
                    reply_to_operator_id=r.context_wamid,
                )
            )
        return await self._replies.record(out)


def add_routes(app: web.Application, webhook: WhatsAppWebhook) -> None:
    app.router.add_get("/whatsapp/webhook", webhook.verify)
    app.router.add_post("/whatsapp/webhook", webhook.handle)
