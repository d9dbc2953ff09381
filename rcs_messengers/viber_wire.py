"""Viber's wire format (pure): a Viber message as send_message's body, send_message's
answer as a connector outcome, and a callback as core receipts.

The codes: rest_status.rst's Viber table. A subscriber who cannot get Viber messages
(not registered, not subscribed, no suitable device) is 6 teleservice-not-provisioned;
anything else Viber refuses for good is 1 unknown; a message that outlived its ttl is
EXPIRED with 7 timeout. Trouble on the provider's side (HTTP 5xx, a timeout, too many
requests, the account's token refused) is RETRY: the message is kept and sent again."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from rcs.common.v1 import message_pb2, status_pb2
from rcs_messengers.inbound import Reply

# send_message status codes (Viber REST API, "Error codes").
OK = 0
INVALID_AUTH_TOKEN = 2
NOT_REGISTERED, NOT_SUBSCRIBED, NO_SUITABLE_DEVICE = 5, 6, 11
TOO_MANY_REQUESTS = 12
UNKNOWN, TELESERVICE_NOT_PROVISIONED, TIMEOUT = 1, 6, 7
MAX_SENDER = 28
MEDIA_TYPES = frozenset({"picture", "video", "file"})  # a message callback's media link


def body_of(
    viber: message_pb2.ViberContent, receiver: str, ttl_seconds: int, tracking: str
) -> dict[str, Any]:
    """send_message's body: text, picture (image alone) or rich_media (text + button,
    with the image above when there is one)."""
    doc: dict[str, Any] = {
        "receiver": receiver,
        "sender": {"name": viber.service_number[:MAX_SENDER]},
        "tracking_data": tracking,
        "ttl": ttl_seconds,
        "min_api_version": 7,
    }
    if viber.button_action:
        buttons: list[dict[str, Any]] = []
        if viber.image_url:
            buttons.append(
                {"Columns": 6, "Rows": 4, "ActionType": "none", "Image": viber.image_url}
            )
        buttons.append({"Columns": 6, "Rows": 2, "ActionType": "none", "Text": viber.text})
        buttons.append(
            {
                "Columns": 6,
                "Rows": 1,
                "ActionType": "open-url",
                "ActionBody": viber.button_action,
                "Text": viber.button_caption,
            }
        )
        rows = sum(b["Rows"] for b in buttons)
        doc |= {
            "type": "rich_media",
            "rich_media": {
                "Type": "rich_media",
                "ButtonsGroupColumns": 6,
                "ButtonsGroupRows": rows,
                "Buttons": buttons,
            },
            "text": viber.text,  # shown where rich media is not (notifications)
        }
    elif viber.image_url:
        doc |= {"type": "picture", "media": viber.image_url, "text": viber.text}
    else:
        doc |= {"type": "text", "text": viber.text}
    return doc


@dataclass(frozen=True, slots=True)
class Answer:
    """send_message's answer as an outcome: token when accepted, else retry or a code."""

    token: str = ""
    retry: bool = False
    error_code: int = 0
    detail: str = ""


def answer_of(http_status: int, doc: Any) -> Answer:
    if http_status >= 500 or http_status == 429:
        return Answer(retry=True, detail=f"viber_http_{http_status}")
    if http_status >= 400 or not isinstance(doc, dict):
        return Answer(error_code=UNKNOWN, detail=f"viber refused the request (HTTP {http_status})")
    status = doc.get("status")
    message = str(doc.get("status_message") or "")
    if status == OK and doc.get("message_token") is not None:
        return Answer(token=str(doc["message_token"]))
    if status in (TOO_MANY_REQUESTS, INVALID_AUTH_TOKEN):
        # A revoked or mistyped token is ours to fix: keep the messages until it is.
        return Answer(retry=True, detail=f"viber_status_{status}_{message}")
    if status in (NOT_REGISTERED, NOT_SUBSCRIBED, NO_SUITABLE_DEVICE):
        return Answer(error_code=TELESERVICE_NOT_PROVISIONED, detail=f"viber: {message}")
    return Answer(error_code=UNKNOWN, detail=f"viber status {status}: {message}")


def signature_ok(token: str, body: bytes, given: str) -> bool:
    """X-Viber-Content-Signature: HMAC-SHA256 of the raw body keyed with the token."""
    expected = hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given.strip().lower())


@dataclass(frozen=True, slots=True)
class Event:
    """A status callback: which message (token), what happened, when."""

    token: str
    statuses: tuple[int, ...]
    error_code: int
    at: dt.datetime
    state: str


_EVENTS: dict[str, tuple[tuple[int, ...], int, str]] = {
    "delivered": ((status_pb2.MESSAGE_STATUS_DELIVERED,), 0, "DELIVRD"),
    # READ implies DELIVERED: sent first so a lost "delivered" callback does not leave core
    # without it (core ignores a repeat).
    "seen": ((status_pb2.MESSAGE_STATUS_DELIVERED, status_pb2.MESSAGE_STATUS_READ), 0, "READ"),
    "failed": ((status_pb2.MESSAGE_STATUS_UNDELIVERED,), UNKNOWN, "UNDELIV"),
    "expired": ((status_pb2.MESSAGE_STATUS_EXPIRED,), TIMEOUT, "EXPIRED"),
}


def event_of(doc: Any) -> Event | None:
    """The status event of a callback; None for the others (subscribed, message, ...).
    ValueError when a status callback lacks its token or time."""
    if not isinstance(doc, dict) or doc.get("event") not in _EVENTS:
        return None
    token, ms = doc.get("message_token"), doc.get("timestamp")
    if token is None or not isinstance(ms, int):
        raise ValueError("a status callback needs message_token and timestamp")
    statuses, code, state = _EVENTS[doc["event"]]
    at = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return Event(str(token), statuses, code, at, state)


def reply_of(doc: Any) -> Reply | None:
    """A subscriber's message (the ``message`` callback): its text, the media link of a
    picture / video / file, and tracking_data, which Viber passes back from the message
    the subscriber answered (ours carry the platform id). None for other callbacks;
    ValueError when a message lacks its token, sender or time."""
    if not isinstance(doc, dict) or doc.get("event") != "message":
        return None
    sender, message, ms = doc.get("sender"), doc.get("message"), doc.get("timestamp")
    token = doc.get("message_token")
    if not isinstance(sender, dict) or not sender.get("id") or not isinstance(message, dict):
        raise ValueError("a message callback needs sender.id and message")
    if token is None or not isinstance(ms, int):
        raise ValueError("a message callback needs message_token and timestamp")
    media = message.get("media") if message.get("type") in MEDIA_TYPES else None
    return Reply(
        provider_id=str(token),
        sender=str(sender["id"]),
        destination="",
        text=str(message.get("text") or ""),
        at=dt.datetime.fromtimestamp(ms / 1000, dt.UTC),
        media_url=str(media or ""),
        reply_to_message_id=str(message.get("tracking_data") or ""),
    )
