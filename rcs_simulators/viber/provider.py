"""The simulated Viber account: send_message's checks and answers, and the subscriber's
behaviour afterwards as signed callbacks to the account's webhook.

Wire shape: Viber's REST API (developers.viber.com/docs/api/rest-bot-api/: send_message,
X-Viber-Auth-Token, status / status_message / message_token answers, delivered / seen /
failed / message callbacks signed with HMAC-SHA256 of the body in
X-Viber-Content-Signature), addressed by phone number with a ttl and an "expired" callback
as Viber's Business Messages API does (docs/viber.md)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

log = logging.getLogger(__name__)

# send_message status codes (Viber REST API "Error codes").
OK, INVALID_AUTH_TOKEN, BAD_DATA, MISSING_DATA, NOT_SUBSCRIBED = 0, 2, 3, 4, 6
STATUS_MESSAGES = {
    OK: "ok",
    INVALID_AUTH_TOKEN: "invalidAuthToken",
    BAD_DATA: "badData",
    MISSING_DATA: "missingData",
    NOT_SUBSCRIBED: "receiverNotSubscribed",
}
TYPES = ("text", "picture", "rich_media")
MAX_TEXT = 7000  # Viber's limit on a text message
MAX_SENDER = 28
MIN_TTL, MAX_TTL = 30, 1_209_600  # Business Messages: 30 s to 14 days
PHONE = re.compile(r"\d{10,15}")


def signature(token: str, body: bytes) -> str:
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


class RefusedError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


def check_request(doc: Any) -> tuple[str, int]:
    """(receiver, ttl seconds) of a send_message body, or RefusedError with Viber's status."""
    if not isinstance(doc, dict):
        raise RefusedError(BAD_DATA, "the body is not a JSON object")
    receiver, kind = doc.get("receiver"), doc.get("type")
    sender = doc.get("sender")
    if not receiver or not kind or not isinstance(sender, dict) or not sender.get("name"):
        raise RefusedError(MISSING_DATA, "receiver, type and sender.name are required")
    if not isinstance(receiver, str) or not PHONE.fullmatch(receiver):
        raise RefusedError(BAD_DATA, "receiver is a phone number, 10-15 digits")
    if kind not in TYPES:
        raise RefusedError(BAD_DATA, f"type must be one of {', '.join(TYPES)}")
    if len(str(sender["name"])) > MAX_SENDER:
        raise RefusedError(BAD_DATA, f"sender.name is at most {MAX_SENDER} characters")
    if kind == "text" and not (isinstance(doc.get("text"), str) and doc["text"]):
        raise RefusedError(MISSING_DATA, "a text message needs text")
    if len(str(doc.get("text") or "")) > MAX_TEXT:
        raise RefusedError(BAD_DATA, f"text is at most {MAX_TEXT} characters")
    if kind == "picture" and not str(doc.get("media") or "").startswith(("http://", "https://")):
        raise RefusedError(MISSING_DATA, "a picture message needs media, the image's URL")
    if kind == "rich_media":
        buttons = (doc.get("rich_media") or {}).get("Buttons")
        if not isinstance(buttons, list) or not buttons:
            raise RefusedError(MISSING_DATA, "a rich_media message needs rich_media.Buttons")
        for b in buttons:
            if b.get("ActionType") == "open-url" and not b.get("ActionBody"):
                raise RefusedError(BAD_DATA, "an open-url button needs ActionBody, its link")
    ttl = doc.get("ttl", MAX_TTL)
    if not isinstance(ttl, int) or not MIN_TTL <= ttl <= MAX_TTL:
        raise RefusedError(BAD_DATA, f"ttl is {MIN_TTL} to {MAX_TTL} seconds")
    return receiver, ttl


@dataclass
class Account:
    """One simulated account: its token, webhook, per-number outcomes, what it got."""

    token: str
    webhook_url: str
    default_outcome: str
    outcomes: dict[str, str]
    deliver_delay: float
    seen_delay: float
    retry_seconds: float
    attempts: int
    received: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[dict[str, str]] = field(default_factory=list)  # body + signature, as sent
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=5.0))

    def send(self, doc: dict[str, Any], receiver: str, ttl: int) -> tuple[int, int | None]:
        """(status, message token) of an accepted request; the outcome runs after."""
        outcome = self.outcomes.get(receiver, self.default_outcome)
        if outcome == "unsubscribed":
            return NOT_SUBSCRIBED, None
        token = random.getrandbits(62)
        self.received.append({**doc, "message_token": token})
        self._spawn(self._subscriber(outcome, token, receiver, ttl))
        return OK, token

    def reply(self, sender: str, text: str, tracking_data: str = "", image: str = "") -> None:
        """A subscriber writes to the account (a "message" callback): a text, or with
        ``image`` (its URL) a picture whose text is ``text``. tracking_data is what the
        answered message carried."""
        message: dict[str, Any] = {"type": "text", "text": text, "tracking_data": tracking_data}
        if image:
            message |= {"type": "picture", "media": image, "thumbnail": image}
        self._spawn(
            self._callback(
                {
                    "event": "message",
                    "timestamp": _now_ms(),
                    "message_token": random.getrandbits(62),
                    "sender": {"id": sender, "name": sender},
                    "message": message,
                }
            )
        )

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _subscriber(self, outcome: str, token: int, receiver: str, ttl: int) -> None:
        if outcome == "silent":
            await asyncio.sleep(ttl)
            await self._event("expired", token, receiver)
            return
        await asyncio.sleep(self.deliver_delay)
        if outcome == "failed":
            await self._event("failed", token, receiver, desc="receiver has no suitable device")
            return
        await self._event("delivered", token, receiver)
        if outcome == "read":
            await asyncio.sleep(self.seen_delay)
            await self._event("seen", token, receiver)

    async def _event(self, event: str, token: int, receiver: str, desc: str = "") -> None:
        body: dict[str, Any] = {
            "event": event,
            "timestamp": _now_ms(),
            "message_token": token,
            "user_id": receiver,
        }
        if desc:
            body["desc"] = desc
        await self._callback(body)

    async def _callback(self, doc: dict[str, Any]) -> None:
        if not self.webhook_url:
            return
        body = json.dumps(doc).encode()
        sig = signature(self.token, body)
        self.callbacks.append({"body": body.decode(), "signature": sig})
        for _ in range(self.attempts):
            try:
                r = await self._http.post(
                    self.webhook_url,
                    content=body,
                    headers={
                        "Content-Type": "application/json",
                        "X-Viber-Content-Signature": sig,
                    },
                )
                if r.is_success:
                    return
            except httpx.HTTPError as err:
                log.info("viber_sim_callback_failed", extra={"error": str(err)[:200]})
            await asyncio.sleep(self.retry_seconds)
        log.warning("viber_sim_callback_dropped", extra={"event": doc.get("event")})

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self._http.aclose()


def _now_ms() -> int:
    return int(time.time() * 1000)
