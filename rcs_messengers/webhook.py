"""Viber's callbacks (POST /viber/webhook): signature checked, status events passed to core
as receipts keyed by (this interface, message token).

Answers: 403 for a missing or wrong signature (nothing is done); 400 for a status event
without its token or time; 503 when core did not store the receipts, so Viber sends the
callback again; 200 otherwise. A replayed callback changes nothing: core applies a
receipt it already has without effect, and the same (token, event) seen again here
recently is not passed on at all."""

from __future__ import annotations

import json
import logging

from aiohttp import web

from rcs.core.v1 import message_service_pb2_grpc
from rcs_messengers import viber_wire
from rcs_messengers.receipts import ReceiptRecorder, StatusEvent

log = logging.getLogger(__name__)


class ViberWebhook:
    def __init__(
        self,
        core: message_service_pb2_grpc.MessageServiceAsyncStub,
        token: str,
        interface_id: str,
        core_timeout: float,
    ) -> None:
        self._token = token
        # The Viber provider interfaces' tokens (rcs_messengers.provider_interfaces): their
        # accounts' callbacks come here too, each signed with its own token.
        self.tokens: set[str] = set()
        self._receipts = ReceiptRecorder("viber", core, interface_id, core_timeout)

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
            event = viber_wire.event_of(json.loads(body))
        except ValueError as err:
            return web.json_response({"error": str(err)}, status=400)
        if event is None:
            return web.json_response({"status": 0})  # not a status (replies: docs/viber.md)
        same = StatusEvent(event.token, event.statuses, event.error_code, event.at, event.state)
        if not self._receipts.fresh([same]):
            return web.json_response({"status": 0, "repeated": True})
        if not await self._receipts.record([same]):
            return web.json_response({"error": "try again"}, status=503)
        return web.json_response({"status": 0})


def build_app(webhook: ViberWebhook) -> web.Application:
    app = web.Application()
    app.router.add_post("/viber/webhook", webhook.handle)
    return app
