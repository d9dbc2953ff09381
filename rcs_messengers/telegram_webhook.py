"""Telegram's status reports (POST /telegram/webhook): X-Request-Signature checked, the
statuses passed to core as receipts keyed by (this interface, request_id). 401 for a
missing or wrong signature (nothing is done), 400 for a malformed report, 503 when core
did not store it (the provider sends it again), 200 otherwise; a replay changes nothing."""

from __future__ import annotations

import json
import logging

from aiohttp import web

from rcs.core.v1 import delivery_service_pb2_grpc
from rcs_messengers import telegram_wire
from rcs_messengers.receipts import ReceiptRecorder

log = logging.getLogger(__name__)


class TelegramWebhook:
    def __init__(
        self,
        core: delivery_service_pb2_grpc.DeliveryServiceAsyncStub,
        token: str,
        interface_id: str,
        core_timeout: float,
    ) -> None:
        self._token = token
        # The tokens of Telegram interfaces configured as settings (their reports).
        self.tokens: set[str] = set()
        self._receipts = ReceiptRecorder("telegram", core, interface_id, core_timeout)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        stamp = request.headers.get("X-Request-Timestamp", "")
        given = request.headers.get("X-Request-Signature", "")
        if not given or not any(
            telegram_wire.signature_ok(t, stamp, body, given)
            for t in (self._token, *self.tokens)
            if t
        ):
            log.warning("telegram_report_bad_signature")
            return web.json_response({"error": "bad or missing X-Request-Signature"}, status=401)
        try:
            event = telegram_wire.event_of(json.loads(body))
        except ValueError as err:
            return web.json_response({"error": str(err)}, status=400)
        if event is None:
            return web.json_response({"ok": True})
        if not self._receipts.fresh([event]):
            return web.json_response({"ok": True, "repeated": True})
        if not await self._receipts.record([event]):
            return web.json_response({"error": "try again"}, status=503)
        return web.json_response({"ok": True})


def add_routes(app: web.Application, webhook: TelegramWebhook) -> None:
    app.router.add_post("/telegram/webhook", webhook.handle)
