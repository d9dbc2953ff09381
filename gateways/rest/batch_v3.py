"""Rapporto REST_BATCH v3: ``POST /api/batch/v3/messages`` with ``Authorization: Key …``.

1 to 3,000 SMS per request (rest_batch_sms.rst); every message gets its own result, ``OK``
with the platform id or ``REJECTED`` with reasons ({key, ref}) in Rapporto's vocabulary.
What the gateway can check alone is checked here (so the reason names the exact field);
the rest goes to core in one SubmitMessages call, and core's refusals are mapped back.
Every message asks for REST_BATCH status reports: to its ``callbackUrl``, else to the URL
configured for the partner. The packet's ``scheduleInfo`` gives each message its earliest
send time, its sending window and, with a deadline, a shorter validity
(``gateways.rest.schedule``); ``shortenUrl: true`` is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from aiohttp import hdrs, web

from gateways.rest.body import BodyTooLargeError, loads_json, read_body
from gateways.rest.errors import json_response, retry_after_header
from gateways.rest.observability import PARTNER
from gateways.rest.parsing import MAX_REPORT_URL_CHARS, is_report_url, is_valid_unicode
from gateways.rest.pushback import InFlight, PushedBackError, retry_after
from gateways.rest.schedule import Schedule, ScheduleError, parse_schedule_info
from gateways.rpc_errors import rcs_error
from rcs.common.v1 import channel_pb2, message_pb2
from rcs.core.v1 import auth_service_pb2, auth_service_pb2_grpc, message_service_pb2
from rcs_runtime.errors import CATALOGUE, RcsError, Reason, reason_of

PATH = "/api/batch/v3/messages"
MAX_MESSAGES = 3000
# 3,000 messages of up to 2,000 characters do not fit the gateway's 1 MiB limit for single
# sends; this route reads its body itself, up to this.
MAX_BATCH_BYTES = 16 * 1024 * 1024
MIN_VALIDITY, MAX_VALIDITY = 60, 259_200  # seconds (rest_batch_sms.rst)
DEFAULT_VALIDITY = 172_800
_KEY = re.compile(r"[A-Za-z0-9]{1,30}")

# Fields core names in an INVALID_REQUEST → the message's field.
_CORE_FIELDS = {"report_url": "callbackUrl", "send_after": "validity"}


@dataclass(frozen=True, slots=True)
class Rejection:
    key: str
    ref: str
    description: str


class BatchRefusedError(Exception):
    """The whole request is refused (HTTP status and one reason)."""

    def __init__(self, status: int, key: str, ref: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.rejection = Rejection(key, ref, description)
        self.retry_after = 0.0  # seconds, sent as Retry-After


class ApiKeyAuth:
    """AuthService.AuthenticateApiKey with a short cache of successes, keyed by the key's
    SHA-256 (the key itself is not kept) and the caller's address, since the allowlist is
    per address: a key that worked from an allowed address must still be refused from
    another (issue 14). Failures are never cached; ``forget_all`` empties the cache when
    the settings change (a revoked key, a changed allowlist)."""

    def __init__(
        self,
        stub: auth_service_pb2_grpc.AuthServiceAsyncStub,
        *,
        cache_seconds: float,
        timeout_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stub = stub
        self._cache_seconds = cache_seconds
        self._timeout = timeout_seconds
        self._clock = clock
        self._cache: dict[tuple[bytes, str], tuple[str, float]] = {}

    def forget_all(self) -> None:
        self._cache.clear()

    async def login_of(self, key: str, remote_ip: str) -> str:
        digest = (hashlib.sha256(key.encode()).digest(), remote_ip)
        hit = self._cache.get(digest)
        if hit is not None and self._clock() < hit[1]:
            return hit[0]
        try:
            answer = await self._stub.AuthenticateApiKey(
                auth_service_pb2.AuthenticateApiKeyRequest(key=key, remote_ip=remote_ip),
                timeout=self._timeout,
            )
        except grpc.aio.AioRpcError as err:
            self._cache.pop(digest, None)
            raise rcs_error(err) from err
        if self._cache_seconds > 0:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (answer.login, self._clock() + self._cache_seconds)
        return answer.login


def parse_key(header: str | None) -> str:
    scheme, _, credentials = (header or "").strip().partition(" ")
    if scheme.lower() != "key" or not _KEY.fullmatch(credentials.strip()):
        raise BatchRefusedError(
            401,
            "forbidden",
            "",
            'send "Authorization: Key <key>": the key is 1-30 Latin letters and digits',
        )
    return credentials.strip()


def _schedule_ref(err: ScheduleError) -> str:
    if err.field == "useTimeDiff":
        return err.field
    return "scheduleInfo" + (f".{err.field}" if err.field else "")


def _check_packet(doc: Any, now: dt.datetime) -> tuple[list[Any], Schedule | None]:
    if not isinstance(doc, dict):
        raise BatchRefusedError(400, "invalid", "", "the body must be a JSON object")
    if doc.get("shortenUrl"):
        raise BatchRefusedError(
            400,
            "forbidden",
            "shortenUrl",
            "shortenUrl is not available on this installation yet: send without it",
        )
    try:
        schedule = parse_schedule_info(doc.get("scheduleInfo"), doc.get("useTimeDiff"))
        if schedule is not None:
            schedule.start(now)  # a deadline that leaves no time refuses the whole packet
    except ScheduleError as err:
        raise BatchRefusedError(400, "invalid", _schedule_ref(err), err.message) from err
    messages = doc.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BatchRefusedError(
            400, "must.be.not.null", "messages", "messages must be a non-empty array"
        )
    if len(messages) > MAX_MESSAGES:
        raise BatchRefusedError(
            400, "too.many.messages", "messages", f"at most {MAX_MESSAGES} messages per request"
        )
    return messages, schedule


def _message(
    i: int, m: Any, schedule: Schedule | None, now: dt.datetime
) -> message_service_pb2.MessageSubmission | Rejection:
    """One message checked as far as the gateway can; the first problem wins."""
    ref = f"messages[{i}]"
    if not isinstance(m, dict):
        return Rejection("invalid", ref, "each message must be a JSON object")
    sender, to, text, client_ref = m.get("from"), m.get("to"), m.get("text"), m.get("id")
    if not isinstance(sender, str) or not 1 <= len(sender.strip()) <= 21:
        return Rejection("not.available", f"{ref}.from", "from: a sender name of 1-21 characters")
    if not isinstance(to, str) or not to.strip():
        return Rejection("invalid", f"{ref}.to", "to: the subscriber's number, e.g. 79031234567")
    if not isinstance(text, str) or not text:
        return Rejection("invalid", f"{ref}.text", "text must be a non-empty string")
    if len(text) > 2000:
        return Rejection("length.too.long", f"{ref}.text", "text is at most 2000 characters")
    if client_ref is not None and (not isinstance(client_ref, str) or len(client_ref) > 50):
        return Rejection("invalid", f"{ref}.id", "id: a string of at most 50 characters")
    for key, value in (("from", sender), ("to", to), ("text", text), ("id", client_ref)):
        # JSON "\ud800" reaches here; ASCII (most values) cannot hold one.
        if isinstance(value, str) and not value.isascii() and not is_valid_unicode(value):
            return Rejection("invalid", f"{ref}.{key}", f"{key} contains an unpaired surrogate")
    validity = m.get("validity", DEFAULT_VALIDITY)
    if (
        not isinstance(validity, int)
        or isinstance(validity, bool)
        or not MIN_VALIDITY <= validity <= MAX_VALIDITY
    ):
        return Rejection(
            "invalid", f"{ref}.validity", "validity: seconds from 60 to 259200 (3 days)"
        )
    priority = m.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 3:
        return Rejection("invalid", f"{ref}.priority", "priority: 0 (low) to 3 (highest)")
    url = m.get("callbackUrl")
    if url is not None and (
        not isinstance(url, str) or not is_report_url(url) or len(url) > MAX_REPORT_URL_CHARS
    ):
        return Rejection(
            "invalid",
            f"{ref}.callbackUrl",
            f"callbackUrl: an absolute http:// or https:// URL of at most"
            f" {MAX_REPORT_URL_CHARS} characters",
        )
    ttl, send_after = dt.timedelta(seconds=validity), None
    if schedule is not None:
        try:
            plan = schedule.plan(now, ttl)
        except ScheduleError as err:
            return Rejection("invalid", f"{ref}.validity", err.message)
        ttl, send_after = plan.ttl, plan.send_after
    # Nested fields set in place: building SmsContent and Duration apart and copying them
    # in cost twice as much, and this runs for each of up to 3,000 messages.
    submission = message_service_pb2.MessageSubmission(
        client_ref=client_ref or "",
        destination=to.strip(),
        channel=channel_pb2.CHANNEL_SMS,
        # Rapporto's 0-3 onto our 0-2: 2 and 3 both go first.
        priority=min(priority, 2),
        receipt_request=message_pb2.RECEIPT_REQUEST_ALL,
        report_format=message_service_pb2.REPORT_FORMAT_BATCH_V3,
        report_url=url or "",
    )
    sms = submission.sms
    sms.text = text
    sms.sender = sender.strip()
    submission.ttl.seconds = int(ttl.total_seconds())
    if send_after is not None:
        submission.send_after.FromDatetime(send_after)
    if schedule is not None and schedule.window is not None:
        submission.send_window.CopyFrom(schedule.window.to_proto())
    return submission


def parse_batch(
    doc: Any, now: dt.datetime | None = None
) -> list[message_service_pb2.MessageSubmission | Rejection]:
    """Every message of the packet as a submission or its rejection, against the clock
    ``now`` (the current time when not given) for the schedule."""
    now = now or dt.datetime.now(dt.UTC)
    messages, schedule = _check_packet(doc, now)
    return [_message(i, m, schedule, now) for i, m in enumerate(messages)]


def _rejected(r: Rejection, client_ref: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "code": "REJECTED",
        "messageId": None,
        "reasons": [{"key": r.key, "ref": r.ref}],
        "description": r.description,
    }
    if isinstance(client_ref, str) and client_ref:
        out["id"] = client_ref
    return out


def _packet_refusal(r: Rejection) -> dict[str, Any]:
    return {
        "code": "REJECTED",
        "reasons": [{"key": r.key, "ref": r.ref}],
        "description": r.description,
    }


def _core_rejection(i: int, reason: str, message: str, core_field: str = "") -> Rejection:
    """Core's refusal of message ``i``, with the catalogue's REST_BATCH key and field (a
    reason we do not know gets INTERNAL's: "unknown")."""
    entry = CATALOGUE[reason_of(reason) or Reason.INTERNAL]
    key, field = entry.batch_key, entry.batch_field
    if entry.reason == Reason.INVALID_REQUEST and core_field in _CORE_FIELDS:
        key, field = "invalid", _CORE_FIELDS[core_field]
    ref = f"messages[{i}]" + (f".{field}" if field else "")
    return Rejection(key, ref, message or reason)


async def _read(request: web.Request) -> bytes:
    """The whole body (it may arrive in pieces), in the batch API's refusals."""
    try:
        return await read_body(request, MAX_BATCH_BYTES)
    except BodyTooLargeError as err:
        raise BatchRefusedError(413, "invalid", "", err.message) from err
    except RcsError as err:  # REQUEST_TIMEOUT
        raise BatchRefusedError(err.entry.http_status, "invalid", "", err.message) from err


class BatchGateway:
    def __init__(
        self, auth: ApiKeyAuth, messages: Any, timeout: float, in_flight: InFlight | None = None
    ) -> None:
        self.auth = auth
        self.messages = messages  # MessageServiceStub
        self.timeout = timeout
        self.in_flight = in_flight or InFlight(2**31)


BATCH = web.AppKey("batch_v3", BatchGateway)


async def send_batch(request: web.Request) -> web.StreamResponse:
    try:
        with request.app[BATCH].in_flight.admit():
            return await _send_batch(request)
    except PushedBackError as err:
        body = _packet_refusal(Rejection("unknown", "", err.message))
        return json_response(body, status=429, headers=retry_after(429))


async def _send_batch(request: web.Request) -> web.StreamResponse:
    gateway = request.app[BATCH]
    try:
        key = parse_key(request.headers.get(hdrs.AUTHORIZATION))
        try:
            login = await gateway.auth.login_of(key, request.remote or "")
        except RcsError as err:
            if err.entry.http_status >= 500:
                raise BatchRefusedError(
                    503, "unknown", "", "service unavailable: retry later"
                ) from err
            if err.reason == Reason.IP_NOT_ALLOWED:
                raise BatchRefusedError(403, "forbidden", "", err.message) from err
            if err.reason == Reason.THROTTLED:
                # Not "unknown key": the key may be right, the address failed too often.
                refused = BatchRefusedError(429, "forbidden", "", err.message)
                refused.retry_after = err.retry_after
                raise refused from err
            raise BatchRefusedError(401, "forbidden", "", "unknown or revoked key") from err
        request[PARTNER] = login
        try:
            doc = loads_json(await _read(request))
        except (ValueError, UnicodeDecodeError) as err:
            raise BatchRefusedError(400, "invalid", "", f"the body is not JSON: {err}") from err
        parsed = parse_batch(doc)
    except BatchRefusedError as refused:
        r = refused.rejection
        body = {
            "code": "REJECTED",
            "reasons": [{"key": r.key, "ref": r.ref}],
            "description": r.description,
        }
        headers = (
            {"Retry-After": retry_after_header(refused.retry_after)}
            if refused.retry_after > 0
            else retry_after(refused.status)
        )
        return json_response(body, status=refused.status, headers=headers)
    raw = doc["messages"]
    to_core = [(i, p) for i, p in enumerate(parsed) if not isinstance(p, Rejection)]
    results: list[dict[str, Any]] = [
        _rejected(p, raw[i].get("id") if isinstance(raw[i], dict) else None)
        for i, p in enumerate(parsed)
        if isinstance(p, Rejection)
    ]
    order = [i for i, p in enumerate(parsed) if isinstance(p, Rejection)]
    if to_core:
        try:
            answer = await gateway.messages.SubmitMessages(
                message_service_pb2.SubmitMessagesRequest(
                    partner=login, messages=[p for _, p in to_core]
                ),
                timeout=gateway.timeout,
            )
        except grpc.aio.AioRpcError as err:
            error = rcs_error(err)
            body = _packet_refusal(Rejection("unknown", "", error.message))
            status = error.entry.http_status
            status = 503 if status >= 500 else 429 if status == 429 else 400
            return json_response(body, status=status, headers=retry_after(status))
        if len(answer.results) != len(to_core):
            raise RcsError(Reason.INTERNAL, "core answered with a wrong number of results")
        for (i, submission), result in zip(to_core, answer.results, strict=True):
            order.append(i)
            if result.HasField("error"):
                e = result.error
                rejection = _core_rejection(i, e.reason, e.message, e.field)
                results.append(_rejected(rejection, submission.client_ref))
                continue
            ok: dict[str, Any] = {"code": "OK", "messageId": result.message_id}
            if submission.client_ref:
                ok["id"] = submission.client_ref
            results.append(ok)
    in_order = [r for _, r in sorted(zip(order, results, strict=True), key=lambda t: t[0])]
    return json_response({"result": in_order})


def add_batch_routes(app: web.Application, gateway: BatchGateway) -> None:
    app[BATCH] = gateway
    app.router.add_post(PATH, send_batch, name="batch_v3_send")
