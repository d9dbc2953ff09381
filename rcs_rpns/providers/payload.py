"""One push in each push service's own terms (F33): title and text, image, buttons, web
view link, custom payload, TTL, collapse key and priority. Pure: no I/O.

Every payload carries ``rpns.pushId``: the SDK (or the simulator playing the device)
reports delivered / opened with it and its own token."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

from rcs.common.v1 import message_pb2

MAX_PAYLOAD = 4096  # APNs and FCM both refuse more


@dataclass(frozen=True, slots=True)
class Notification:
    push_id: str
    content: message_pb2.PushContent
    ttl_seconds: int  # left of the message's validity when sent
    expires_at: int  # Unix time the validity ends

    @property
    def high_priority(self) -> bool:
        return self.content.priority != message_pb2.PUSH_PRIORITY_NORMAL

    @property
    def rich(self) -> bool:
        c = self.content
        return bool(c.image_url or c.buttons or c.link_url)

    def custom(self) -> dict[str, Any]:
        raw = self.content.custom_payload_json
        value = json.loads(raw) if raw else {}
        return value if isinstance(value, dict) else {"value": value}

    def rpns_data(self) -> dict[str, Any]:
        """What the SDK needs beyond the visible notification."""
        c = self.content
        data: dict[str, Any] = {"pushId": self.push_id}
        if c.image_url:
            data["image"] = c.image_url
        if c.link_url:
            data["link"] = c.link_url
        if c.buttons:
            data["buttons"] = [{"text": b.text, "url": b.action_url} for b in c.buttons]
        if c.content_category:
            data["contentCategory"] = c.content_category
        return data


def _flat_data(n: Notification) -> dict[str, str]:
    """FCM and RuStore data maps take string values only."""
    data = {"rpns": json.dumps(n.rpns_data(), ensure_ascii=False, separators=(",", ":"))}
    custom = n.custom()
    if custom:
        data["custom"] = json.dumps(custom, ensure_ascii=False, separators=(",", ":"))
    return data


def apns(n: Notification, *, topic: str) -> tuple[dict[str, str], bytes]:
    """Headers and body of POST /3/device/<token>."""
    c = n.content
    aps: dict[str, Any] = {"alert": {"title": c.title, "body": c.text}, "sound": "default"}
    if n.rich:
        aps["mutable-content"] = 1  # the app's service extension fetches the image
    if c.buttons:
        aps["category"] = "RPNS_BUTTONS"
    body: dict[str, Any] = {"aps": aps, "rpns": n.rpns_data()}
    body.update({k: v for k, v in n.custom().items() if k not in ("aps", "rpns")})
    headers = {
        "apns-topic": topic,
        "apns-push-type": "alert",
        "apns-priority": "10" if n.high_priority else "5",
        "apns-expiration": str(n.expires_at),
    }
    if c.collapse_key:
        headers["apns-collapse-id"] = c.collapse_key
    return headers, _dump(body)


def fcm(n: Notification, *, token: str) -> bytes:
    """Body of POST /v1/projects/<id>/messages:send."""
    c = n.content
    notification: dict[str, str] = {"title": c.title, "body": c.text}
    if c.image_url:
        notification["image"] = c.image_url
    android: dict[str, Any] = {
        "priority": "HIGH" if n.high_priority else "NORMAL",
        "ttl": f"{n.ttl_seconds}s",
    }
    if c.collapse_key:
        android["collapse_key"] = c.collapse_key
    if c.link_url:
        android["notification"] = {"click_action": c.link_url}
    message = {"token": token, "notification": notification, "data": _flat_data(n)}
    message["android"] = android
    return _dump({"message": message})


def hms(n: Notification, *, tokens: list[str]) -> bytes:
    """Body of POST /v1/<appId>/messages:send, for up to 1,000 tokens at once."""
    c = n.content
    notification: dict[str, Any] = {
        "title": c.title,
        "body": c.text,
        # type 2: open the web view link; 3: open the application
        "click_action": {"type": 2, "url": c.link_url} if c.link_url else {"type": 3},
    }
    if c.image_url:
        notification["image"] = c.image_url
    if c.buttons:
        notification["buttons"] = [
            {"name": b.text[:40], "action_type": 4, "data": b.action_url} for b in c.buttons[:3]
        ]
    android: dict[str, Any] = {
        "urgency": "HIGH" if n.high_priority else "NORMAL",
        "ttl": f"{n.ttl_seconds}s",
        "notification": notification,
    }
    if c.collapse_key:
        # HMS takes a number 0-100: the same key always gives the same number.
        android["collapse_key"] = zlib.crc32(c.collapse_key.encode()) % 101
    data = {"rpns": n.rpns_data(), "custom": n.custom()}
    message = {"token": tokens, "data": json.dumps(data, ensure_ascii=False), "android": android}
    return _dump({"validate_only": False, "message": message})


def rustore(n: Notification, *, token: str) -> bytes:
    """Body of POST /v1/projects/<id>/messages:send (RuStore's FCM-like API; it has no
    priority or collapse key)."""
    c = n.content
    notification: dict[str, str] = {"title": c.title, "body": c.text}
    if c.image_url:
        notification["image"] = c.image_url
    android: dict[str, Any] = {"ttl": f"{n.ttl_seconds}s"}
    if c.link_url:
        android["notification"] = {"click_action": c.link_url}
    message = {
        "token": token,
        "notification": notification,
        "data": _flat_data(n),
        "android": android,
    }
    return _dump({"message": message})


# What fits_surely allows: the payloads' keys and numbers (231 bytes for an empty push),
# and per byte of the push's fields at most two appearances in one payload, each escaped
# at most twice (a control character: 6 bytes, then 7), or a button's or field's keys.
_FIXED_BYTES = 512
_GROWTH = 32


def fits_surely(content: message_pb2.PushContent) -> bool:
    """True when no payload of the push can exceed MAX_PAYLOAD, known without building
    them (largest_size builds four: most of the accept path's CPU for a short push). A
    custom payload is re-encoded (numbers can grow), so it always takes largest_size."""
    if content.custom_payload_json:
        return False
    return _FIXED_BYTES + _GROWTH * content.ByteSize() <= MAX_PAYLOAD


def largest_size(content: message_pb2.PushContent) -> int:
    """The largest of the payloads the push would become: checked before accepting it."""
    n = Notification("9" * 19, content, 2_592_000, 4_102_444_800)
    return max(
        len(apns(n, topic="t")[1]),
        len(fcm(n, token="")),
        len(rustore(n, token="")),
        len(hms(n, tokens=[])),
    )


def _dump(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
