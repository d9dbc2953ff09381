"""The simulated Telegram account: sendMessage's checks and answers, and the subscriber's
behaviour afterwards as signed status reports to each message's callback_url.

Wire shape: the Telegram Gateway API (core.telegram.org/gateway/api): Bearer token, JSON
answers {"ok": true, "result": RequestStatus} / {"ok": false, "error": "..."}, reports of
RequestStatus (request_id, phone_number, request_cost, payload, delivery_status {status,
updated_at}) signed with X-Request-Timestamp and X-Request-Signature (hex HMAC-SHA256 of
"{timestamp}\\n{body}" keyed with SHA-256 of the token). Its public method carries a code
only; the text + link method is modelled on it (docs/whatsapp.md, "Telegram")."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from rcs_simulators.faults import RETRY_AFTER

log = logging.getLogger(__name__)
MAX_TEXT, MAX_LINK = 4096, 256
MIN_TTL, MAX_TTL = 30, 86400
PHONE = re.compile(r"\+\d{8,15}")


def signature(token: str, timestamp: str, body: bytes) -> str:
    key = hashlib.sha256(token.encode()).digest()
    return hmac.new(key, timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()


class RefusedError(Exception):
    """{"ok": false, "error": <this>}."""


def check_request(doc: Any) -> tuple[str, int]:
    """(phone number's digits, ttl) of a sendMessage body, or RefusedError."""
    if not isinstance(doc, dict):
        raise RefusedError("BODY_INVALID")
    phone, text, ttl = doc.get("phone_number"), doc.get("text"), doc.get("ttl", MAX_TTL)
    if not isinstance(phone, str) or not PHONE.fullmatch(phone):
        raise RefusedError("PHONE_NUMBER_INVALID")
    if not isinstance(text, str) or not text or len(text) > MAX_TEXT:
        raise RefusedError("TEXT_INVALID")
    link = doc.get("link")
    if link is not None and (not isinstance(link, str) or not link or len(link) > MAX_LINK):
        raise RefusedError("LINK_INVALID")
    if not isinstance(ttl, int) or not MIN_TTL <= ttl <= MAX_TTL:
        raise RefusedError("TTL_INVALID")
    return phone[1:], ttl


@dataclass
class Account:
    token: str
    default_outcome: str
    outcomes: dict[str, str]
    deliver_delay: float
    read_delay: float
    retry_seconds: float
    attempts: int
    received: list[dict[str, Any]] = field(default_factory=list)
    reports: list[dict[str, str]] = field(default_factory=list)  # body + headers, as sent
    faults: list[dict[str, Any]] = field(default_factory=list)  # rcs_simulators.faults served
    retry_after: str = RETRY_AFTER  # a throttled call's Retry-After header
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=5.0))

    def send(self, doc: dict[str, Any], phone: str, ttl: int) -> dict[str, Any]:
        """The RequestStatus of an accepted message; the subscriber's behaviour runs after."""
        outcome = self.outcomes.get(phone, self.default_outcome)
        if outcome == "no_telegram":
            raise RefusedError("PHONE_NUMBER_NOT_AVAILABLE")
        status = {
            "request_id": secrets.token_hex(8),
            "phone_number": doc["phone_number"],
            "request_cost": 0.01,
            "payload": doc.get("payload", ""),
            "delivery_status": {"status": "sent", "updated_at": int(time.time())},
        }
        self.received.append({**doc, "request_id": status["request_id"]})
        callback = str(doc.get("callback_url") or "")
        task = asyncio.get_running_loop().create_task(
            self._subscriber(outcome, status, callback, ttl)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return status

    async def _subscriber(
        self, outcome: str, status: dict[str, Any], callback: str, ttl: int
    ) -> None:
        if outcome == "silent":
            await asyncio.sleep(ttl)
            await self._report(status, "expired", callback)
            return
        await asyncio.sleep(self.deliver_delay)
        if outcome == "revoked":
            await self._report(status, "revoked", callback)
            return
        await self._report(status, "delivered", callback)
        if outcome == "read":
            await asyncio.sleep(self.read_delay)
            await self._report(status, "read", callback)

    async def _report(self, status: dict[str, Any], kind: str, callback: str) -> None:
        if not callback:
            return
        doc = {**status, "delivery_status": {"status": kind, "updated_at": int(time.time())}}
        body = json.dumps(doc).encode()
        stamp = str(int(time.time()))
        sig = signature(self.token, stamp, body)
        self.reports.append({"body": body.decode(), "timestamp": stamp, "signature": sig})
        for _ in range(self.attempts):
            try:
                r = await self._http.post(
                    callback,
                    content=body,
                    headers={
                        "Content-Type": "application/json",
                        "X-Request-Timestamp": stamp,
                        "X-Request-Signature": sig,
                    },
                )
                if r.is_success:
                    return
            except httpx.HTTPError as err:
                log.info("telegram_sim_report_failed", extra={"error": str(err)[:200]})
            await asyncio.sleep(self.retry_seconds)
        log.warning("telegram_sim_report_dropped")

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self._http.aclose()
