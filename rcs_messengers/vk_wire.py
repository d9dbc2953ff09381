"""VK's wire format (pure): a message as messages.send's parameters, its answer as a
connector outcome, and a Callback API event as receipts.

The codes: rest_status.rst's VK table. A number with no VK user (936) or a user not on VK
in the last 7 days (901, http_vk.rst) is 6 teleservice-not-provisioned; a user whose
privacy settings bar the community (902) is 3 call-barred; the 5-a-day limit to one user
(9, flood control) is 10 filtered; anything else refused is 1 unknown. The community's
per-second limit (6), a refused token (5: ours to fix), HTTP 5xx and timeouts are RETRY:
the message stays queued and goes again with the same random_id, which VK sends once."""

from __future__ import annotations

import datetime as dt
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
        return StatusEvent(
            f"{PREFIX}{mid}", (status_pb2.MESSAGE_STATUS_DELIVERED,), 0, at, "DELIVRD"
        )
    mid = obj.get("read_message_id")
    if not isinstance(mid, int):
        raise ValueError("a message_read callback needs object.read_message_id")
    statuses = (status_pb2.MESSAGE_STATUS_DELIVERED, status_pb2.MESSAGE_STATUS_READ)
    return StatusEvent(f"{PREFIX}{mid}", statuses, 0, dt.datetime.now(dt.UTC), "READ")
