"""The simulated WhatsApp business number: the messages call's checks and answers, and the
subscriber's behaviour afterwards as signed webhook notifications.

Wire shape: the WhatsApp Business Cloud API (docs/whatsapp.md has the sources): POST
/{version}/{phone-number-id}/messages with "Authorization: Bearer", messaging_product
"whatsapp", text / image (by link) / template messages; answers {"messaging_product",
"contacts": [{"input", "wa_id"}], "messages": [{"id": "wamid..."}]} or {"error": {"message",
"type", "code", "error_data", "fbtrace_id"}}; notifications {"object":
"whatsapp_business_account", "entry": [{"id", "changes": [{"field": "messages", "value":
{"messaging_product", "metadata", "statuses" | "contacts" + "messages"}}]}]} signed with
"X-Hub-Signature-256: sha256=" HMAC-SHA256 of the body keyed with the app secret. A session
(non-template) message to a subscriber who has not written in 24 hours is accepted and
then fails with 131047, as the Cloud API does."""

from __future__ import annotations

import asyncio
import base64
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

# Cloud API error codes (developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes).
ACCESS_TOKEN, INVALID_PARAMETER, NOT_ON_WHATSAPP = 190, 100, 131026
OUTSIDE_SESSION, MISSING_PARAMETER, NO_TEMPLATE = 131047, 131008, 132001
TITLES = {
    ACCESS_TOKEN: "Error validating access token",
    INVALID_PARAMETER: "Invalid parameter",
    NOT_ON_WHATSAPP: "Message undeliverable",
    OUTSIDE_SESSION: "Re-engagement message",
    MISSING_PARAMETER: "Required parameter is missing",
    NO_TEMPLATE: "Template name does not exist in the translation",
}
TYPES = ("text", "image", "template")
MAX_TEXT = 4096  # the Cloud API's limit on text.body
PHONE = re.compile(r"\+?\d{8,15}")


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class RefusedError(Exception):
    """A request the Cloud API answers with its error object and this HTTP status."""

    def __init__(self, http_status: int, code: int, detail: str) -> None:
        super().__init__(detail)
        self.http_status = http_status
        self.code = code

    def doc(self) -> dict[str, Any]:
        return {
            "error": {
                "message": f"(#{self.code}) {TITLES.get(self.code, 'Error')}",
                "type": "OAuthException",
                "code": self.code,
                "error_data": {"messaging_product": "whatsapp", "details": str(self)},
                "fbtrace_id": secrets.token_urlsafe(12),
            }
        }


def check_request(doc: Any, templates: set[str]) -> tuple[str, str]:
    """(recipient's digits, message type) of a messages body, or RefusedError."""
    if not isinstance(doc, dict):
        raise RefusedError(400, INVALID_PARAMETER, "the body is not a JSON object")
    if doc.get("messaging_product") != "whatsapp":
        raise RefusedError(400, INVALID_PARAMETER, 'messaging_product must be "whatsapp"')
    to, kind = doc.get("to"), doc.get("type", "text")
    if not isinstance(to, str) or not PHONE.fullmatch(to):
        raise RefusedError(400, INVALID_PARAMETER, "to is the recipient's phone number")
    if kind not in TYPES:
        raise RefusedError(400, INVALID_PARAMETER, f"type must be one of {', '.join(TYPES)}")
    part = doc.get(kind)
    if not isinstance(part, dict):
        raise RefusedError(400, MISSING_PARAMETER, f"a {kind} message needs its {kind} object")
    if kind == "text":
        body = part.get("body")
        if not isinstance(body, str) or not body:
            raise RefusedError(400, MISSING_PARAMETER, "text.body is required")
        if len(body) > MAX_TEXT:
            raise RefusedError(400, INVALID_PARAMETER, f"text.body is at most {MAX_TEXT}")
    if kind == "image" and not str(part.get("link") or part.get("id") or ""):
        raise RefusedError(400, MISSING_PARAMETER, "image needs link (https) or id")
    if kind == "image" and part.get("link") and not str(part["link"]).startswith("https://"):
        raise RefusedError(400, INVALID_PARAMETER, "image.link must be an https URL")
    if kind == "template":
        language = part.get("language")
        if not isinstance(language, dict) or not language.get("code"):
            raise RefusedError(400, MISSING_PARAMETER, "template.language.code is required")
        if part.get("name") not in templates:
            raise RefusedError(404, NO_TEMPLATE, f"template {part.get('name')!r} is not approved")
    return to.lstrip("+"), kind


@dataclass
class Business:
    """One simulated business number: its credentials, webhook, subscribers, what it got."""

    phone_number_id: str
    display_number: str
    access_token: str
    app_secret: str
    webhook_url: str
    default_outcome: str
    outcomes: dict[str, str]
    open_sessions: set[str]  # numbers that wrote in the last 24 h ("*": everyone)
    templates: set[str]
    deliver_delay: float
    read_delay: float
    retry_seconds: float
    attempts: int
    received: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, str]] = field(default_factory=list)  # body + signature
    media: dict[str, str] = field(default_factory=dict)  # media id → its URL (GET /{media-id})
    faults: list[dict[str, Any]] = field(default_factory=list)  # rcs_simulators.faults served
    retry_after: str = RETRY_AFTER  # a throttled call's Retry-After header
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=5.0))

    def send(self, doc: dict[str, Any], to: str, kind: str) -> str:
        """The wamid of an accepted message (RefusedError for an unregistered number); the
        subscriber's behaviour runs after."""
        outcome = self.outcomes.get(to, self.default_outcome)
        if outcome == "unregistered":
            raise RefusedError(400, NOT_ON_WHATSAPP, f"{to} is not a WhatsApp user")
        wamid = "wamid." + base64.b64encode(secrets.token_bytes(24)).decode()
        self.received.append({**doc, "wamid": wamid})
        in_session = "*" in self.open_sessions or to in self.open_sessions
        if kind != "template" and not in_session:
            outcome = "outside_session"
        self._spawn(self._subscriber(outcome, wamid, to))
        return wamid

    def reply(self, sender: str, text: str, context: str = "", image: str = "") -> str:
        """A subscriber writes to the business (a ``messages`` notification); it opens their
        24-hour window. With ``image`` (its URL) an image message whose caption is ``text``:
        the notification names the media by id, which GET /{media-id} turns into the URL."""
        self.open_sessions.add(sender)
        wamid = "wamid." + base64.b64encode(secrets.token_bytes(24)).decode()
        message: dict[str, Any] = {
            "from": sender,
            "id": wamid,
            "timestamp": str(int(time.time())),
        }
        if image:
            media_id = str(secrets.randbelow(10**15))
            self.media[media_id] = image
            part = {"id": media_id, "mime_type": "image/jpeg", "sha256": "", "caption": text}
            message |= {"type": "image", "image": {k: v for k, v in part.items() if v}}
        else:
            message |= {"type": "text", "text": {"body": text}}
        if context:
            message["context"] = {"from": self.display_number, "id": context}
        contacts = [{"profile": {"name": sender}, "wa_id": sender}]
        self._spawn(self._notify({"contacts": contacts, "messages": [message]}))
        return wamid

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _subscriber(self, outcome: str, wamid: str, to: str) -> None:
        await asyncio.sleep(self.deliver_delay)
        if outcome == "outside_session":
            await self._status("failed", wamid, to, OUTSIDE_SESSION)
            return
        if outcome == "failed":
            await self._status("failed", wamid, to, NOT_ON_WHATSAPP)
            return
        await self._status("sent", wamid, to)
        if outcome == "silent":
            return
        await self._status("delivered", wamid, to)
        if outcome == "read":
            await asyncio.sleep(self.read_delay)
            await self._status("read", wamid, to)

    async def _status(self, status: str, wamid: str, to: str, error: int = 0) -> None:
        st: dict[str, Any] = {
            "id": wamid,
            "status": status,
            "timestamp": str(int(time.time())),
            "recipient_id": to,
        }
        if error:
            st["errors"] = [
                {
                    "code": error,
                    "title": TITLES[error],
                    "message": TITLES[error],
                    "error_data": {"details": TITLES[error]},
                }
            ]
        await self._notify({"statuses": [st]})

    async def _notify(self, value: dict[str, Any]) -> None:
        if not self.webhook_url:
            return
        doc = {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "WHATSAPP_BUSINESS_ACCOUNT_ID",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": self.display_number,
                                    "phone_number_id": self.phone_number_id,
                                },
                                **value,
                            },
                        }
                    ],
                }
            ],
        }
        body = json.dumps(doc).encode()
        sig = signature(self.app_secret, body)
        self.notifications.append({"body": body.decode(), "signature": sig})
        for _ in range(self.attempts):
            try:
                r = await self._http.post(
                    self.webhook_url,
                    content=body,
                    headers={"Content-Type": "application/json", "X-Hub-Signature-256": sig},
                )
                if r.is_success:
                    return
            except httpx.HTTPError as err:
                log.info("whatsapp_sim_webhook_failed", extra={"error": str(err)[:200]})
            await asyncio.sleep(self.retry_seconds)
        log.warning("whatsapp_sim_webhook_dropped")

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self._http.aclose()
