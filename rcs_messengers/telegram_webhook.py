"""Telegram's status reports (POST /telegram/webhook): X-Request-Signature checked, the
statuses passed to core as receipts keyed by (this interface, request_id). 401 for a
missing or wrong signature (nothing is done), 400 for a malformed report, 503 when core
did not store it (the provider sends it again), 200 otherwise; a replay changes nothing."""

from __future__ import annotations

import json
import logging
from collections import OrderedDict

import grpc
from aiohttp import web
from google.protobuf import timestamp_pb2

from rcs.core.v1 import message_service_pb2, message_service_pb2_grpc
from rcs_messengers import telegram_wire

log = logging.getLogger(__name__)
_REMEMBERED = 100_000


class TelegramWebhook:
    def __init__(
        self,
        core: message_service_pb2_grpc.MessageServiceAsyncStub,
        token: str,
        interface_id: str,
        core_timeout: float,
    ) -> None:
        self._core = core
        self._token = token
        self._interface_id = interface_id
        self._timeout = core_timeout
        self._done: OrderedDict[tuple[str, tuple[int, ...]], None] = OrderedDict()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        stamp = request.headers.get("X-Request-Timestamp", "")
        given = request.headers.get("X-Request-Signature", "")
        if not given or not telegram_wire.signature_ok(self._token, stamp, body, given):
            log.warning("telegram_report_bad_signature")
            return web.json_response({"error": "bad or missing X-Request-Signature"}, status=401)
        try:
            event = telegram_wire.event_of(json.loads(body))
        except ValueError as err:
            return web.json_response({"error": str(err)}, status=400)
        if event is None:
            return web.json_response({"ok": True})
        key = (event.request_id, event.statuses)
        if key in self._done:
            return web.json_response({"ok": True, "repeated": True})
        done = timestamp_pb2.Timestamp()
        done.FromDatetime(event.at)
        receipts = [
            message_service_pb2.Receipt(
                interface_id=self._interface_id,
                operator_message_id=event.request_id,
                status=status,  # type: ignore[arg-type]
                error_code=event.error_code,
                done_time=done,
                operator_state=event.state,
            )
            for status in event.statuses
        ]
        try:
            await self._core.RecordReceipts(
                message_service_pb2.RecordReceiptsRequest(receipts=receipts), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as err:
            log.warning("telegram_receipt_not_recorded", extra={"code": err.code().name})
            return web.json_response({"error": "try again"}, status=503)
        self._done[key] = None
        while len(self._done) > _REMEMBERED:
            self._done.popitem(last=False)
        return web.json_response({"ok": True})


def add_routes(app: web.Application, webhook: TelegramWebhook) -> None:
    app.router.add_post("/telegram/webhook", webhook.handle)
