"""VK's wire format (pure): a message as messages.send's parameters, its answer as a
connector outcome, a Callback API event as receipts (naming the user, peer_id, so that
core keeps who we wrote to), and a user's message_new as a reply.

The codes: rest_status.rst's VK table. A number with no VK user (936) or a user not on VK
in the last 7 days (901, http_vk.rst) is 6 teleservice-not-provisioned; a user whose
privacy settings bar the community (902) is 3 call-barred; the 5-a-day limit to one user
(9, flood control) is 10 filtered; anything else refused is 1 unknown. The community's
per-second limit (6), a refused token (5: ours to fix), HTTP 5xx and timeouts are RETRY:
the message stays queued and goes again with the same random_id, which VK sends once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from rcs.common.v1 import status_pb2
from rcs_messengers.provider_call import Answer
from rcs_messengers.receipts import StatusEvent

API_VERSION = "5.199"
AUTH_FAILED, TOO_MANY_PER_SECOND, FLOOD_CONTROL = 5, 6, 9
NO_PERMISSION, PRIVACY, CONTACT_NOT_FOUND = 901, 902, 936
UNKNOWN, CALL_BARRED, TELESERVICE_NOT_PROVISIONED, FILTERED = 1, 3, 6, 10
_REFUSED = {
    CONTACT_NOT_FOUND: TELESERVICE_NOT_PROVISIONED,
    NO_PERMISSION: TELESERVICE_NOT_PROVISIONED,
    PRIVACY: CALL_BARRED,
    FLOOD_CONTROL: FILTERED,
}
PREFIX = "vk-"  # operator ids: VK's message id, apart from the other channels' ids
CHAT_PEERS = 2_000_000_000  # peer ids from here on are chats (dev.vk.com: peer_id)


def params_of(text: str, phone: str, message_id: str, group_id: int) -> dict[str, str]:
    """messages.send's parameters; random_id is our message id, so a repeat is not sent."""
    return {
        "v": API_VERSION,
        "group_id": str(group_id),
        "phone": phone,
        "message": text,
        "random_id": message_id,
    }


def answer_of(http_status: int, doc: Any) -> Answer:
    if http_status >= 500 or http_status == 429:
        return Answer(retry=True, detail=f"vk_http_{http_status}")
    if http_status >= 400 or not isinstance(doc, dict):
        return Answer(error_code=UNKNOWN, detail=f"vk refused the request (HTTP {http_status})")
    if isinstance(doc.get("response"), int):
        return Answer(operator_id=f"{PREFIX}{doc['response']}")
    error = doc.get("error")
    code = error.get("error_code") if isinstance(error, dict) else None
    message = str(error.get("error_msg") or "") if isinstance(error, dict) else ""
    if code in (TOO_MANY_PER_SECOND, AUTH_FAILED):
        return Answer(retry=True, detail=f"vk_error_{code}_{message}")
    if isinstance(code, int) and code in _REFUSED:
        return Answer(error_code=_REFUSED[code], detail=f"vk {code}: {message}")
    return Answer(error_code=UNKNOWN, detail=f"vk error {code}: {message}")


def event_of(doc: dict[str, Any]) -> StatusEvent | None:
    """The status event of a callback: message_reply of the community's own message is
    delivered, message_read is read (after delivered, which core ignores when it has it);
    None for the others. ValueError for a status event without its message id."""
    kind, obj = doc.get("type"), doc.get("object")
    if kind not in ("message_reply", "message_read"):
        return None
    if not isinstance(obj, dict):
        raise ValueError(f"a {kind} callback needs its object")
    if kind == "message_reply":
        mid, date = obj.get("id"), obj.get("date")
        if not isinstance(mid, int) or not isinstance(date, int):
            raise ValueError("a message_reply callback needs object.id and object.date")
        if obj.get("out") != 1:
            return None  # not the community's message
        at = dt.datetime.fromtimestamp(date, dt.UTC)
        delivered = (status_pb2.MESSAGE_STATUS_DELIVERED,)
        return StatusEvent(f"{PREFIX}{mid}", delivered, 0, at, "DELIVRD", _user(obj))
    mid = obj.get("read_message_id")
    if not isinstance(mid, int):
        raise ValueError("a message_read callback needs object.read_message_id")
    statuses = (status_pb2.MESSAGE_STATUS_DELIVERED, status_pb2.MESSAGE_STATUS_READ)
    now = dt.datetime.now(dt.UTC)
    return StatusEvent(f"{PREFIX}{mid}", statuses, 0, now, "READ", _user(obj))


def _user(obj: dict[str, Any]) -> str:
    """The dialog's user (peer_id), "" for a chat or a community: only a user's dialog
    with the community is a subscriber we wrote to by number."""
    peer = obj.get("peer_id")
    return str(peer) if isinstance(peer, int) and 0 < peer < CHAT_PEERS else ""


@dataclass(frozen=True, slots=True)
class UserMessage:
    """A user's message to the community (message_new), as VK names it: by user id."""

    key: str  # the user and VK's id for the message: the same on a replayed callback
    peer: str
    text: str
    at: dt.datetime
    media_url: str
    reply_to_operator_id: str  # our message the user quoted (reply_message), if any


def user_message_of(doc: dict[str, Any]) -> UserMessage | None:
    """message_new of a user's dialog with the community (API 5.103+: object.message;
    older versions send the message as the object); None for another event or a chat.
    ValueError when it lacks its peer, ids or date."""
    if doc.get("type") != "message_new":
        return None
    obj = doc.get("object")
    msg = obj.get("message", obj) if isinstance(obj, dict) else None
    if not isinstance(msg, dict):
        raise ValueError("a message_new callback needs its object.message")
    mid, cmid, date = msg.get("id"), msg.get("conversation_message_id"), msg.get("date")
    if not isinstance(date, int) or not isinstance(mid or cmid, int):
        raise ValueError("a message_new callback needs object.message.date and its id")
    peer = _user(msg)
    if not peer or msg.get("out") == 1:
        return None  # a chat, or the community's own message
    quoted = msg.get("reply_message")
    reply_to = ""
    if isinstance(quoted, dict) and isinstance(quoted.get("id"), int) and quoted["id"] > 0:
        reply_to = f"{PREFIX}{quoted['id']}"
    return UserMessage(
        key=f"{peer}:{mid or f'c{cmid}'}",
        peer=peer,
        text=str(msg.get("text") or ""),
        at=dt.datetime.fromtimestamp(date, dt.UTC),
        media_url=_media_url(msg.get("attachments")),
        reply_to_operator_id=reply_to,
    )


def _media_url(attachments: Any) -> str:
    """The link of the first attachment that has one: a photo's largest size, a
    document's, a voice message's or a link's (dev.vk.com/en/reference/objects/attachments)."""
    for a in attachments if isinstance(attachments, list) else []:
        body = a.get(a.get("type")) if isinstance(a, dict) else None
        if not isinstance(body, dict):
            continue
        sizes = body.get("sizes")
        if isinstance(sizes, list):
            best = max(
                (z for z in sizes if isinstance(z, dict) and z.get("url")),
                key=lambda z: int(z.get("width") or 0) * int(z.get("height") or 0),
                default=None,
            )
            if best is not None:
                return str(best["url"])
        for field in ("url", "link_mp3", "link_ogg"):
            if body.get(field):
                return str(body[field])
    return ""
