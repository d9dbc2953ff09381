"""Viber's callbacks (POST /viber/webhook): signature checked, status events passed to core
as receipts keyed by (this interface, message token).

Answers: 403 for a missing or wrong signature (nothing is done); 400 for a status event
without its token or time; 503 when core did not store the receipts, so Viber sends the
callback again; 200 otherwise. A replayed callback changes nothing: core applies a
receipt it already has without effect, and the same (token, event) seen again here
recently is not passed on at all.

A subscriber's ``message`` goes to core as MO (rcs_messengers.inbound): to the sender of
the message it answers (its tracking_data), else to RCS_VIBER_REPLY_NUMBER; with neither
it is answered 200 and dropped (logged), since Viber would otherwise send it forever."""

from __future__ import annotations

import dataclasses
import json
import logging

from aiohttp import web

from rcs.common.v1 import channel_pb2
from rcs.core.v1 import delivery_service_pb2_grpc
from rcs_messengers import viber_wire
from rcs_messengers.inbound import InboundRecorder, Reply
from rcs_messengers.receipts import ReceiptRecorder, StatusEvent

log = logging.getLogger(__name__)


class ViberWebhook:
    def __init__(
        self,
        core: delivery_service_pb2_grpc.DeliveryServiceAsyncStub,
        token: str,
        interface_id: str,
        core_timeout: float,
        reply_number: str = "",
    ) -> None:
        self._token = token
        # The Viber provider interfaces' tokens (rcs_messengers.provider_interfaces): their
        # accounts' callbacks come here too, each signed with its own token.
        self.tokens: set[str] = set()
        self._receipts = ReceiptRecorder("viber", core, interface_id, core_timeout)
        self._replies = InboundRecorder(
            "viber", channel_pb2.CHANNEL_VIBER, core, interface_id, core_timeout
        )
        self._reply_number = reply_number

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        given = request.headers.get("X-Viber-Content-Signature", "")
        if not given or not any(
            viber_wire.signature_ok(t, body, given) for t in (self._token, *self.tokens)
        ):
            log.warning("viber_callback_bad_signature")
            return web.json_response(
                {"error": "bad or missing X-Viber-Content-Signature"}, status=403
            )
        try:
            doc = json.loads(body)
            event = viber_wire.event_of(doc)
            reply = viber_wire.reply_of(doc)
        except ValueError as err:
            return web.json_response({"error": str(err)}, status=400)
        if reply is not None:
            return await self._reply(reply)
        if event is None:
            return web.json_response({"status": 0})  # subscribed, conversation_started, ...
        same = StatusEvent(event.token, event.statuses, event.error_code, event.at, event.state)
        if not self._receipts.fresh([same]):
            return web.json_response({"status": 0, "repeated": True})
        if not await self._receipts.record([same]):
            return web.json_response({"error": "try again"}, status=503)
        return web.json_response({"status": 0})

    async def _reply(self, reply: Reply) -> web.Response:
        if not reply.reply_to_message_id:
            if not self._reply_number:
                log.warning("viber_reply_dropped_no_destination")
                return web.json_response({"status": 0, "dropped": True})
            reply = dataclasses.replace(reply, destination=self._reply_number)
        if not await self._replies.record([reply]):
            return web.json_response({"error": "try again"}, status=503)
        return web.json_response({"status": 0})


def build_app(webhook: ViberWebhook) -> web.Application:
    app = web.Application()
    app.router.add_post("/viber/webhook", webhook.handle)
    return app
