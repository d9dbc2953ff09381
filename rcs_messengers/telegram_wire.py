"""Telegram's wire format (pure), modelled on the Telegram Gateway API
(core.telegram.org/gateway/api): a JSON call with "Authorization: Bearer <token>" answered
{"ok": true, "result": RequestStatus} or {"ok": false, "error": "..."}, and status reports
(RequestStatus with delivery_status sent / delivered / read / expired / revoked) posted to
callback_url, signed with X-Request-Timestamp and X-Request-Signature = hex HMAC-SHA256 of
"{timestamp}\\n{body}" keyed with SHA-256 of the token.

The Gateway's public method, sendVerificationMessage, carries only a code; rest_telegram.rst's
text and text + link go to a sendMessage method of the same shape (phone_number, text, link,
sender_username, callback_url, payload, ttl), which is what the simulator serves
(docs/whatsapp.md, "Telegram"). Codes: rest_status.rst's Telegram table has 1 unknown only."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any

from rcs.common.v1 import message_pb2, status_pb2
from rcs_messengers.provider_call import Answer
from rcs_messengers.receipts import StatusEvent

UNKNOWN = 1
# Errors that are ours or the provider's to clear: the message is kept and sent again.
RETRIED = frozenset({"ACCESS_TOKEN_INVALID", "ACCESS_TOKEN_REQUIRED", "FLOOD_WAIT", "INTERNAL"})


def body_of(
    content: message_pb2.ViberContent, phone: str, ttl_seconds: int, payload: str, callback: str
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "phone_number": "+" + phone,
        "text": content.text,
        "ttl": ttl_seconds,
        "payload": payload,
    }
    if content.button_action:
        doc["link"] = content.button_action
    if content.service_number:
        doc["sender_username"] = content.service_number
    if callback:
        doc["callback_url"] = callback
    return doc


def answer_of(http_status: int, doc: Any) -> Answer:
    if http_status >= 500 or http_status == 429:
        return Answer(retry=True, detail=f"telegram_http_{http_status}")
    if not isinstance(doc, dict):
        return Answer(error_code=UNKNOWN, detail=f"telegram answered HTTP {http_status}")
    result = doc.get("result")
    if doc.get("ok") is True and isinstance(result, dict) and result.get("request_id"):
        return Answer(operator_id=str(result["request_id"]))
    error = str(doc.get("error") or f"HTTP {http_status}")
    if error in RETRIED or error.startswith("FLOOD_WAIT"):
        return Answer(retry=True, detail=f"telegram_{error}")
    return Answer(error_code=UNKNOWN, detail=f"telegram: {error}"[:500])


def signature(token: str, timestamp: str, body: bytes) -> str:
    key = hashlib.sha256(token.encode()).digest()
    return hmac.new(key, timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()


def signature_ok(token: str, timestamp: str, body: bytes, given: str) -> bool:
    return hmac.compare_digest(signature(token, timestamp, body), given.strip().lower())


_EVENTS: dict[str, tuple[tuple[int, ...], int, str]] = {
    "delivered": ((status_pb2.MESSAGE_STATUS_DELIVERED,), 0, "DELIVRD"),
    "read": ((status_pb2.MESSAGE_STATUS_DELIVERED, status_pb2.MESSAGE_STATUS_READ), 0, "READ"),
    "expired": ((status_pb2.MESSAGE_STATUS_EXPIRED,), UNKNOWN, "EXPIRED"),
    "revoked": ((status_pb2.MESSAGE_STATUS_UNDELIVERED,), UNKNOWN, "UNDELIV"),
}


def event_of(doc: Any) -> StatusEvent | None:
    """The status of a report; None for "sent" (ACCEPTED said it). ValueError when it lacks
    request_id or delivery_status."""
    if not isinstance(doc, dict) or not doc.get("request_id"):
        raise ValueError("a status report is a RequestStatus with its request_id")
    status = doc.get("delivery_status")
    if not isinstance(status, dict) or not isinstance(status.get("updated_at"), int):
        raise ValueError("a status report needs delivery_status {status, updated_at}")
    if status.get("status") not in _EVENTS:
        return None
    statuses, code, state = _EVENTS[status["status"]]
    at = dt.datetime.fromtimestamp(status["updated_at"], dt.UTC)
    return StatusEvent(str(doc["request_id"]), statuses, code, at, state)
