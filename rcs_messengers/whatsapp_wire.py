"""WhatsApp Business Cloud API's wire format (pure): a message as the body of
POST /{version}/{phone-number-id}/messages, its answer as a connector outcome, and a
webhook's statuses and replies as core receipts and MO messages.

Source: developers.facebook.com/docs/whatsapp/cloud-api (docs/whatsapp.md). Codes:
rest_status.rst's WhatsApp table — a number that is not on WhatsApp (131026) is 6
teleservice-not-provisioned; a session message outside the 24-hour customer service
window (131047) or one WhatsApp's policy dropped (131048, spam rate) is 10 filtered; a
subscriber who stopped the business's messages (131050) is 3 call-barred; anything else
refused at send time is 10 filtered, and a failed status with another code 7 timeout.
Trouble on the provider's side (HTTP 5xx, 429 / code 130429 or 80007 throughput, an
expired or revoked token: 190) is RETRY."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from rcs.common.v1 import message_pb2, status_pb2
from rcs_messengers.provider_call import Answer
from rcs_messengers.receipts import StatusEvent

CALL_BARRED, TELESERVICE_NOT_PROVISIONED, TIMEOUT, FILTERED = 3, 6, 7, 10
NOT_ON_WHATSAPP = 131026
OUTSIDE_SESSION = 131047  # "Re-engagement message": no reply from the subscriber in 24 h
SPAM_RATE = 131048
USER_STOPPED = 131050
ACCESS_TOKEN = 190
MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})
RATE_LIMITS = frozenset({4, 80007, 130429, 131056})
_FAILED = {
    NOT_ON_WHATSAPP: TELESERVICE_NOT_PROVISIONED,
    OUTSIDE_SESSION: FILTERED,
    SPAM_RATE: FILTERED,
    USER_STOPPED: CALL_BARRED,
}


def body_of(content: message_pb2.ViberContent, to: str) -> dict[str, Any]:
    """The messages call's body: a template (WhatsApp's way to open a conversation, its
    body parameters in order), a session text, or an image by link (rest_whatsapp.rst has
    no text with an image)."""
    doc: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
    }
    if content.template_name:  # an approved template (core checked it is the partner's)
        template: dict[str, Any] = {
            "name": content.template_name,
            "language": {"code": content.template_language},
        }
        if content.template_parameters:
            parameters = [{"type": "text", "text": p} for p in content.template_parameters]
            template["components"] = [{"type": "body", "parameters": parameters}]
        doc |= {"type": "template", "template": template}
    elif content.image_url:
        doc |= {"type": "image", "image": {"link": content.image_url}}
    else:
        doc |= {"type": "text", "text": {"preview_url": True, "body": content.text}}
    return doc


def answer_of(http_status: int, doc: Any) -> Answer:
    error = doc.get("error") if isinstance(doc, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    message = str(error.get("message") or "") if isinstance(error, dict) else ""
    if http_status == 200 and isinstance(doc, dict):
        found = doc.get("messages")
        if isinstance(found, list) and found and isinstance(found[0], dict) and found[0].get("id"):
            return Answer(operator_id=str(found[0]["id"]))
    if http_status >= 500 or http_status == 429 or code in RATE_LIMITS:
        return Answer(retry=True, detail=f"whatsapp_http_{http_status}_{code}")
    if code == ACCESS_TOKEN or http_status == 401:
        # An expired or revoked token is ours to fix: keep the messages until it is.
        return Answer(retry=True, detail=f"whatsapp_access_token_refused: {message}")
    mapped = _FAILED.get(code, FILTERED) if isinstance(code, int) else FILTERED
    return Answer(error_code=mapped, detail=f"whatsapp error {code}: {message}"[:500])


def signature_ok(app_secret: str, body: bytes, given: str) -> bool:
    """X-Hub-Signature-256: "sha256=" + HMAC-SHA256 of the raw body keyed with the app
    secret."""
    expected = "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given.strip().lower())


@dataclass(frozen=True, slots=True)
class Reply:
    """A subscriber's message to the business number (a webhook ``messages`` entry)."""

    wamid: str
    sender: str  # the subscriber (wa_id)
    business_number: str  # the number it wrote to (metadata.display_phone_number)
    text: str
    at: dt.datetime
    context_wamid: str  # the business message it answers, when it is a reply to one
    media_id: str = ""  # image / video / audio / document / sticker: GET /{media-id} links it


_STATUSES: dict[str, tuple[tuple[int, ...], str]] = {
    "delivered": ((status_pb2.MESSAGE_STATUS_DELIVERED,), "DELIVRD"),
    # READ implies DELIVERED: sent first so a lost "delivered" does not leave core without it.
    "read": ((status_pb2.MESSAGE_STATUS_DELIVERED, status_pb2.MESSAGE_STATUS_READ), "READ"),
    "failed": ((status_pb2.MESSAGE_STATUS_UNDELIVERED,), "UNDELIV"),
}


def _values(doc: Any) -> list[dict[str, Any]]:
    """entry[].changes[].value of a "whatsapp_business_account" notification."""
    if not isinstance(doc, dict) or doc.get("object") != "whatsapp_business_account":
        raise ValueError('a notification is {"object": "whatsapp_business_account", ...}')
    out = []
    for entry in doc.get("entry") or []:
        for change in (entry or {}).get("changes") or []:
            if isinstance(change, dict) and isinstance(change.get("value"), dict):
                out.append(change["value"])
    return out


def _time(value: Any) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(int(value), dt.UTC)
    except (TypeError, ValueError) as err:
        raise ValueError("timestamp must be Unix seconds") from err


def events_of(doc: Any) -> list[StatusEvent]:
    """The statuses of a notification ("sent" is none of ours: ACCEPTED already said it).
    ValueError when the notification or a status is malformed."""
    out = []
    for value in _values(doc):
        for st in value.get("statuses") or []:
            if not isinstance(st, dict) or not st.get("id"):
                raise ValueError("a status needs its id (the wamid)")
            kind = st.get("status")
            if kind not in _STATUSES:
                continue
            statuses, state = _STATUSES[kind]
            code = 0
            if kind == "failed":
                errors = st.get("errors") or [{}]
                first = errors[0].get("code") if isinstance(errors[0], dict) else None
                code = _FAILED.get(first, TIMEOUT) if isinstance(first, int) else TIMEOUT
            out.append(
                StatusEvent(str(st["id"]), statuses, code, _time(st.get("timestamp")), state)
            )
    return out


def replies_of(doc: Any) -> list[Reply]:
    """The subscribers' messages of a notification: a text's body; a media message's
    caption and media id; another kind (location, contacts, ...) as "[kind]"."""
    out = []
    for value in _values(doc):
        number = str((value.get("metadata") or {}).get("display_phone_number") or "")
        for m in value.get("messages") or []:
            if not isinstance(m, dict) or not m.get("id") or not m.get("from"):
                raise ValueError("a message needs its id and from")
            kind = m.get("type")
            part = m.get(kind) if isinstance(kind, str) else None
            media_id = ""
            if kind == "text" and isinstance(part, dict):
                text = str(part.get("body") or "")
            elif kind in MEDIA_TYPES and isinstance(part, dict) and part.get("id"):
                text, media_id = str(part.get("caption") or ""), str(part["id"])
            else:
                text = f"[{kind}]"
            context = m.get("context")
            if not isinstance(context, dict):
                context = {}
            out.append(
                Reply(
                    str(m["id"]),
                    str(m["from"]),
                    number,
                    text,
                    _time(m.get("timestamp")),
                    str(context.get("id") or ""),
                    media_id,
                )
            )
    return out
