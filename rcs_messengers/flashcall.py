"""FlashingCall: each message is one call request to the voice provider (flashcall_wire),
and the provider's status callbacks (POST /flashcall/callback) passed to core as
receipts.

Callbacks carry the key agreed with the provider (X-Authorization: AccessKey …): a wrong
or missing one is answered 401 and nothing is done. A repeated callback (same requestId
and status) is answered 200 and not passed on; 503 when core did not store the receipt,
so the provider sends it again."""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import json
import logging

import httpx
from aiohttp import web

from rcs.connector.v1 import connector_service_pb2 as cs
from rcs.core.v1 import delivery_service_pb2_grpc
from rcs_messengers import flashcall_wire
from rcs_messengers.provider_call import Answer, result_of
from rcs_messengers.receipts import ReceiptRecorder

log = logging.getLogger(__name__)
DEFAULT_TTL = 300  # rest_flashcall.rst's longest wait, when core sends no validity


def access_key(header: str) -> str:
    return header[len("AccessKey ") :] if header.startswith("AccessKey ") else ""


class FlashcallSender:
    def __init__(
        self, http: httpx.AsyncClient, api_url: str, key: str, interface_id: str, concurrency: int
    ) -> None:
        self._http = http
        self._url = api_url.rstrip("/") + "/apps/flash/calls/flash"
        self._key = key
        self._interface_id = interface_id
        self._slots = asyncio.Semaphore(concurrency)

    async def __call__(self, m: cs.OutboundMessage) -> cs.SendResult:
        ttl = DEFAULT_TTL
        if m.HasField("valid_until"):
            left = m.valid_until.ToDatetime(dt.UTC) - dt.datetime.now(dt.UTC)
            ttl = min(DEFAULT_TTL, max(1, int(left.total_seconds())))
        body = flashcall_wire.body_of(m.sms.text, m.destination, ttl, m.message_id)
        async with self._slots:
            try:
                r = await self._http.post(
                    self._url, json=body, headers={"X-Authorization": f"AccessKey {self._key}"}
                )
            except httpx.HTTPError as err:
                log.warning("flashcall_send_failed", extra={"error": type(err).__name__})
                answer = Answer(retry=True, detail="flashcall_unreachable")
                return result_of(m, answer, self._interface_id)
        try:
            doc = r.json()
        except json.JSONDecodeError:
            doc = None
        return result_of(m, flashcall_wire.answer_of(r.status_code, doc), self._interface_id)


class FlashcallCallback:
    """The status callbacks of the environment's flash-call account and of the FlashingCall
    provider interfaces': a callback is the account's named by the path
    (/flashcall/callback/{interface id}), else the account whose callback key it carries;
    each account's receipts are recorded under its own scope (the environment's:
    RCS_MESSENGERS_INTERFACE_ID, an interface's: its id)."""

    def __init__(
        self,
        core: delivery_service_pb2_grpc.DeliveryServiceAsyncStub,
        key: str,
        interface_id: str,
        core_timeout: float,
    ) -> None:
        self._core = core
        self._timeout = core_timeout
        self._key, self._scope = key, interface_id
        # The FlashingCall provider interfaces' callback keys by interface id
        # (rcs_messengers.provider_interfaces keeps them in step with the settings).
        self.keys: dict[str, str] = {}
        self._recorders: dict[str, ReceiptRecorder] = {}

    def _scope_of(self, request: web.Request) -> str | None:
        given = access_key(request.headers.get("X-Authorization", "")).encode()
        named = request.match_info.get("interface")
        if named is not None:
            accounts = [(named, self.keys[named])] if named in self.keys else []
        else:
            accounts = [(self._scope, self._key), *self.keys.items()]
        for scope, key in accounts:
            if given and key and hmac.compare_digest(given, key.encode()):
                return scope
        return None

    async def handle(self, request: web.Request) -> web.Response:
        scope = self._scope_of(request)
        if scope is None:
            log.warning("flashcall_callback_bad_key", extra={"path": request.path})
            return web.json_response({"error": "bad or missing X-Authorization"}, status=401)
        try:
            event = flashcall_wire.event_of(json.loads(await request.read()))
        except ValueError as err:
            return web.json_response({"error": str(err)}, status=400)
        if event is None:
            return web.json_response({"ok": True})
        recorder = self._recorders.get(scope)
        if recorder is None:
            recorder = ReceiptRecorder("flashcall", self._core, scope, self._timeout)
            self._recorders[scope] = recorder
        if not recorder.fresh([event]):
            return web.json_response({"ok": True, "repeated": True})
        if not await recorder.record([event]):
            return web.json_response({"error": "try again"}, status=503)
        return web.json_response({"ok": True})


def add_routes(app: web.Application, callback: FlashcallCallback) -> None:
    app.router.add_post("/flashcall/callback", callback.handle)
    app.router.add_post("/flashcall/callback/{interface}", callback.handle)
