"""The partner's view of one message: statuses in Rapporto's words and codes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.protobuf import timestamp_pb2

from rcs.common.v1 import channel_pb2, message_pb2, status_pb2

_S = status_pb2
# Status name and Rapporto's status code (rest_status.rst: 0 sent, 2 delivered,
# 5 not delivered, 9 read). ACCEPTED is not final yet, like SENT, so it reports 0.
STATUSES: dict[int, tuple[str, int]] = {
    _S.MESSAGE_STATUS_ACCEPTED: ("ACCEPTED", 0),
    _S.MESSAGE_STATUS_SENT: ("SENT", 0),
    _S.MESSAGE_STATUS_DELIVERED: ("DELIVERED", 2),
    _S.MESSAGE_STATUS_UNDELIVERED: ("UNDELIVERED", 5),
    _S.MESSAGE_STATUS_EXPIRED: ("EXPIRED", 5),
    _S.MESSAGE_STATUS_REJECTED: ("REJECTED", 5),
    _S.MESSAGE_STATUS_READ: ("READ", 9),
}
FINAL = frozenset(
    {
        _S.MESSAGE_STATUS_DELIVERED,
        _S.MESSAGE_STATUS_UNDELIVERED,
        _S.MESSAGE_STATUS_EXPIRED,
        _S.MESSAGE_STATUS_REJECTED,
        _S.MESSAGE_STATUS_READ,
    }
)
_C = channel_pb2
TYPES: dict[int, str] = {
    _C.CHANNEL_SMS: "SMS",
    _C.CHANNEL_PUSH: "PUSH",
    _C.CHANNEL_VIBER: "VIBER",
    _C.CHANNEL_WHATSAPP: "WHATSAPP",
    _C.CHANNEL_VK: "VK",
    _C.CHANNEL_FLASH_CALL: "FLASHINGCALL",
    _C.CHANNEL_TELEGRAM: "TELEGRAM",
}


def rapporto_time(ts: timestamp_pb2.Timestamp) -> str:
    """ISO 8601 with offset, in Rapporto's form: 2019-05-05T10:20:35+0000 (UTC)."""
    return ts.ToDatetime(tzinfo=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S%z")


def _status(value: int) -> tuple[str, int]:
    return STATUSES.get(value, ("ACCEPTED", 0))


def message_view(m: message_pb2.Message) -> dict[str, Any]:
    """The JSON body of ``GET /api/v6/messages/{mtNum}``; the message text is left out."""
    status, status_code = _status(m.status)
    view: dict[str, Any] = {"mtNum": m.id}
    if m.client_ref:
        view["id"] = m.client_ref
    view |= {
        "destAddr": m.destination,
        "sourceAddr": m.sms.sender,
        "type": TYPES.get(m.channel, "SMS"),
        "status": status,
        "statusCode": status_code,
        "errorCode": m.error_code,
        "partCount": m.part_count,
    }
    if m.HasField("traffic_type"):
        view["trafficType"] = m.traffic_type  # as in Rapporto's status bodies
    if m.HasField("create_time"):
        view["submitDate"] = rapporto_time(m.create_time)
    if m.status in FINAL:
        done = [h for h in m.history if h.status == m.status]
        if done:
            view["doneDate"] = rapporto_time(done[-1].time)
    view["history"] = [
        {
            "status": _status(h.status)[0],
            "statusCode": _status(h.status)[1],
            "errorCode": h.error_code,
            "time": rapporto_time(h.time),
        }
        for h in m.history
    ]
    return view
