"""The voice provider's flash-call wire format (pure): a FlashingCall message as the call
request, its answer as a connector outcome, and a status callback as receipts.

Shape: a flash-call HTTP API as voice providers offer it (docs/flashcall.md: POST
/apps/flash/calls/flash, X-Authorization: AccessKey, {number, code, timeout in ms} →
{requestId, from}; errors {errorCode, errorReason} with an HTTP status), plus externalId,
our message id, which the provider calls once. The call's status comes back as a
callback: RINGING or ANSWERED is DELIVERED (the caller number, ending in the code, has
reached the phone; a flash call has no READ: rest_status.rst), BUSY is 16 busy, FAILED 4
failure, TIMEOUT (not reached within the ttl) 1 unknown. Codes: rest_status.rst's
FlashingCall table; a number the provider cannot call is 6 teleservice-not-provisioned."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rcs.common.v1 import status_pb2
from rcs_messengers.provider_call import Answer
from rcs_messengers.receipts import StatusEvent
from rcs_runtime import channels

UNKNOWN, FAILURE, TELESERVICE_NOT_PROVISIONED, BUSY = 1, 4, 6, 16
INVALID_NUMBER = 11  # the provider's errorCode for a number it cannot call
PREFIX = "fc-"  # operator ids: the provider's requestId, apart from the other channels'
_DONE = status_pb2.MESSAGE_STATUS_DELIVERED
_FAILED = status_pb2.MESSAGE_STATUS_UNDELIVERED
_STATUSES: dict[str, tuple[int, int]] = {
    "RINGING": (_DONE, 0),
    "ANSWERED": (_DONE, 0),
    "BUSY": (_FAILED, BUSY),
    "FAILED": (_FAILED, FAILURE),
    "TIMEOUT": (_FAILED, UNKNOWN),
}


def body_of(text: str, number: str, ttl_seconds: int, message_id: str) -> dict[str, Any]:
    """The call request: the one 4-6 digit code of the text (core checked there is one)."""
    codes = channels.FLASHCALL_CODE.findall(text)
    return {
        "number": number,
        "code": codes[0] if codes else "",
        "timeout": ttl_seconds * 1000,
        "externalId": message_id,
    }


def answer_of(http_status: int, doc: Any) -> Answer:
    if http_status >= 500 or http_status == 429:
        return Answer(retry=True, detail=f"flashcall_http_{http_status}")
    if not isinstance(doc, dict):
        return Answer(error_code=UNKNOWN, detail=f"flash call refused (HTTP {http_status})")
    if http_status == 200 and doc.get("requestId") is not None:
        return Answer(operator_id=f"{PREFIX}{doc['requestId']}")
    code, reason = doc.get("errorCode"), str(doc.get("errorReason") or "")
    if http_status == 401:  # a refused key is ours to fix: keep the messages until it is
        return Answer(retry=True, detail=f"flashcall_error_{code}_{reason}")
    if code == INVALID_NUMBER:
        return Answer(error_code=TELESERVICE_NOT_PROVISIONED, detail=f"flash call: {reason}")
    return Answer(error_code=UNKNOWN, detail=f"flash call error {code}: {reason}")


def event_of(doc: Any) -> StatusEvent | None:
    """The status event of a callback; None for a status we do not report. ValueError
    when it lacks its requestId or time."""
    if not isinstance(doc, dict) or doc.get("status") not in _STATUSES:
        return None
    rid, ts = doc.get("requestId"), doc.get("timestamp")
    if rid is None or not isinstance(ts, int):
        raise ValueError("a call status callback needs requestId and timestamp")
    status, code = _STATUSES[doc["status"]]
    at = dt.datetime.fromtimestamp(ts, dt.UTC)
    return StatusEvent(f"{PREFIX}{rid}", (status,), code, at, str(doc["status"]))
