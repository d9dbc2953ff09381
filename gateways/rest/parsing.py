"""Pure request parsing: raw bytes and headers in, a typed request or an RcsError out.

Only what is REST-specific is decided here (JSON, charsets, field types, ttlUnit, the
message type, notifyUrl's fallback, scheduleInfo through ``schedule``). Core remains the
authority on numbers, text, sender and ttl; the checks below that overlap with core
(destAddr shape, empty text, ttl range) are strictly weaker or equal, so that obvious
garbage is refused before a gRPC call and nothing valid is refused early.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import urlsplit

from google.protobuf import duration_pb2

from gateways.rest import channels_v6
from gateways.rest.schedule import (
    Schedule,
    ScheduleError,
    parse_schedule_info,
    window_of,
)
from rcs.common.v1 import channel_pb2, message_pb2
from rcs.core.v1 import message_service_pb2
from rcs_runtime.errors import RcsError, Reason
from rcs_runtime.timestamps import timestamp

MAX_BODY_BYTES = 1024 * 1024
MAX_CHARSET_NAME = 64
TTL_UNITS = {"SECONDS": 1, "MINUTES": 60, "HOURS": 3600}
MIN_TTL_SECONDS = 1
MAX_TTL_SECONDS = 2880 * 60
RECEIPT_REQUESTS = {
    0: message_pb2.RECEIPT_REQUEST_NONE,
    1: message_pb2.RECEIPT_REQUEST_ALL,
    2: message_pb2.RECEIPT_REQUEST_FAILURES,
}
# Characters core strips or accepts in a number (rcs_core.messages.numbers): digits, a leading '+',
# whitespace and - ( ) . separators. Core wants 10–15 digits, plus an optional '00' prefix.
_NUMBER_CHARS = re.compile(r"\+?[0-9\s\-().]+")
_MIN_DIGITS, _MAX_DIGITS = 10, 17
MAX_NOTIFY_URL_CHARS = 2048  # rest_sms.rst: "не должна превышать 2048 символов"
MAX_REPORT_URL_CHARS = MAX_NOTIFY_URL_CHARS
# rest_sms.rst gives no length for "id"; the same field is 1-50 characters in REST_BATCH
# (messages/id) and HTTP v5 (partnerMsgId). A 3,000-character one overflowed core's index.
MAX_ID_CHARS = 50  # what core stores (validation.MAX_URL_CHARS)


@dataclass(frozen=True, slots=True)
class SendRequest:
    """A parsed ``POST /api/v6/send`` body."""

    login: str
    password: str
    client_ref: str  # Rapporto's "id"; "" when not given
    dest_addr: str
    text: str
    service_number: str  # "" lets core use the partner's default
    ttl_seconds: int  # 0 lets core use the partner's default
    receipt_request: message_pb2.ReceiptRequest.ValueType
    priority: int
    traffic_type: int | None = None  # from extraParam trafficType=…
    mailing: str = ""  # from extraParam mailing=…
    notify_url: str = ""  # "" sends reports to the partner's configured URL
    notify_url_ignored: bool = False  # an incorrect notifyUrl was given (rest_status.rst)
    schedule: Schedule | None = None
    channel: int = channel_pb2.CHANNEL_SMS
    push: message_pb2.PushContent | None = None  # PUSH: the content (rest_push.rst)
    viber: message_pb2.ViberContent | None = None  # VIBER: the content (rest_viber.rst)
    cascade: tuple[message_service_pb2.CascadeLink, ...] = ()  # cascadeChainLink

    def submission(
        self, now: dt.datetime | None = None, default_ttl_seconds: int = 0
    ) -> message_service_pb2.MessageSubmission:
        """The submission for core. ``now`` and the partner's default validity (from
        authentication) matter only with a schedule: its deadline can shorten the
        validity, and a message whose window opens after its validity is refused here
        with the fields the partner sent (without the default, 48 hours are assumed)."""
        ttl_seconds, send_after = self.ttl_seconds, None
        if self.schedule is not None:
            base = ttl_seconds or default_ttl_seconds or MAX_TTL_SECONDS
            try:
                plan = self.schedule.plan(
                    now or dt.datetime.now(dt.UTC), dt.timedelta(seconds=base)
                )
            except ScheduleError as err:
                raise RcsError(
                    Reason.INVALID_REQUEST, err.message, field=_schedule_field(err.field)
                ) from err
            if plan.ttl < dt.timedelta(seconds=base):  # the deadline comes first
                ttl_seconds = int(plan.ttl.total_seconds())
            send_after = plan.send_after
        return message_service_pb2.MessageSubmission(
            traffic_type=self.traffic_type,
            mailing=self.mailing,
            client_ref=self.client_ref,
            destination=self.dest_addr,
            channel=self.channel,  # type: ignore[arg-type]
            sms=None
            if self.push is not None or self.viber is not None
            else message_pb2.SmsContent(text=self.text, sender=self.service_number),
            push=self.push,
            viber=self.viber,
            cascade=self.cascade,
            priority=self.priority,
            ttl=duration_pb2.Duration(seconds=ttl_seconds),
            receipt_request=self.receipt_request,
            report_format=message_service_pb2.REPORT_FORMAT_REST_V6,
            report_url=self.notify_url,
            send_after=timestamp(send_after),
            send_window=window_of(self.schedule),
        )


def _schedule_field(field: str) -> str:
    """A ScheduleError's field as a v6 path."""
    if field == "useTimeDiff":
        return field
    if field == "validity":
        return "message/data/ttl"
    return "scheduleInfo" + (f"/{field}" if field else "")


def _invalid(message: str, *, field: str = "") -> NoReturn:
    raise RcsError(Reason.INVALID_REQUEST, message, field=field)


def decode_text(body: bytes, charset: str | None) -> tuple[str, str]:
    """``body`` decoded with the charset declared in Content-Type (UTF-8 when none), a
    byte-order mark dropped; and the charset's name. INVALID_CHARSET when it cannot be."""
    name = (charset or "utf-8").strip()
    if not name or len(name) > MAX_CHARSET_NAME:
        raise RcsError(Reason.INVALID_CHARSET, "the charset in Content-Type is empty or too long")
    try:
        text = body.decode(name)
    except LookupError as exc:
        raise RcsError(
            Reason.INVALID_CHARSET, f"unknown charset {name!r} in Content-Type; use UTF-8"
        ) from exc
    except ValueError as exc:  # UnicodeDecodeError and other codec failures
        raise RcsError(
            Reason.INVALID_CHARSET,
            f"the body is not valid {name}: declare its real charset in Content-Type",
        ) from exc
    return text.removeprefix("\ufeff"), name


def decode_json(body: bytes, mimetype: str, charset: str | None) -> Any:
    """The JSON document in ``body``, decoded with the declared charset (UTF-8 by default)."""
    if mimetype.lower() != "application/json":
        _invalid(f"Content-Type must be application/json, not {mimetype or 'missing'!r}")
    if len(body) > MAX_BODY_BYTES:
        _invalid(f"the body is larger than {MAX_BODY_BYTES} bytes")
    text, _ = decode_text(body, charset)
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError as exc:
        _invalid("the JSON document is nested too deeply")
        raise AssertionError from exc  # unreachable
    except ValueError as exc:
        _invalid(f"the body is not valid JSON: {exc}")


def _reject_constant(name: str) -> NoReturn:
    _invalid(f"{name} is not a JSON number")


def is_valid_unicode(value: str) -> bool:
    """No unpaired surrogate (JSON "\ud800"), which protobuf cannot carry."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_text(value: str, path: str) -> str:
    if "\x00" in value:
        _invalid(f"{path} must not contain NUL characters", field=path)
    if not is_valid_unicode(value):
        _invalid(f"{path} contains an unpaired surrogate", field=path)
    return value


def _object(doc: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    value = doc.get(key)
    if value is None:
        _invalid(f"{path} is required", field=path)
    if not isinstance(value, dict):
        _invalid(f"{path} must be a JSON object", field=path)
    return value


def _string(doc: dict[str, Any], key: str, path: str, *, required: bool) -> str:
    value = doc.get(key)
    if value is None or (required and value == ""):
        if required:
            _invalid(f"{path} is required", field=path)
        return ""
    if not isinstance(value, str):
        _invalid(f"{path} must be a string", field=path)
    return _check_text(value, path)


def _integer(doc: dict[str, Any], key: str, path: str) -> int | None:
    value = doc.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        _invalid(f"{path} must be an integer", field=path)
    return value


def _dest_addr(raw: str) -> str:
    digits = sum(c.isascii() and c.isdigit() for c in raw)
    if not _NUMBER_CHARS.fullmatch(raw.strip()) or not _MIN_DIGITS <= digits <= _MAX_DIGITS:
        raise RcsError(
            Reason.INVALID_DESTINATION,
            "destAddr must be a number with country code, e.g. 79161234567 or +7 916 123-45-67",
            field="destAddr",
        )
    return raw


def _ttl_seconds(
    data: dict[str, Any], path: str = "message/data", max_seconds: int = MAX_TTL_SECONDS
) -> int:
    """message/data's ttl and ttlUnit in seconds, 0 for the default; at most 48 hours, or
    ``max_seconds`` for a channel that allows more (WhatsApp: 7 days)."""
    ttl = _integer(data, "ttl", f"{path}/ttl")
    unit_raw = data.get("ttlUnit")
    unit = 60
    if unit_raw is not None:
        if not isinstance(unit_raw, str):
            _invalid("message/data/ttlUnit must be a string", field="message/data/ttlUnit")
        if unit_raw.upper() not in TTL_UNITS:
            raise RcsError(
                Reason.INVALID_TTL,
                "ttlUnit must be SECONDS, MINUTES or HOURS",
                field=f"{path}/ttlUnit",
            )
        unit = TTL_UNITS[unit_raw.upper()]
    if not ttl:  # 0 or absent: the partner's default
        return 0
    seconds = ttl * unit
    if not MIN_TTL_SECONDS <= seconds <= max_seconds:
        most = "2880 minutes (48 hours)" if max_seconds == MAX_TTL_SECONDS else ""
        raise RcsError(
            Reason.INVALID_TTL,
            f"ttl must be from 1 second to {most or f'{max_seconds // 60} minutes'};"
            " 0 or no ttl uses the default",
            field=f"{path}/ttl",
        )
    return seconds


def _read_string(doc: dict[str, Any], key: str, path: str, required: bool) -> str:
    return _string(doc, key, path, required=required)


def parse_send(doc: Any) -> SendRequest:
    """Check a decoded ``/api/v6/send`` body; unknown fields are ignored.

    Order of checks: required fields and types (4), message type (9), destAddr (8), ttl (11).
    """
    if not isinstance(doc, dict):
        _invalid("the body must be a JSON object")
    login = _string(doc, "login", "login", required=True)
    password = _string(doc, "password", "password", required=True)
    client_ref = _string(doc, "id", "id", required=False)
    if len(client_ref) > MAX_ID_CHARS:
        _invalid(f"id is longer than {MAX_ID_CHARS} characters", field="id")
    dest_addr = _string(doc, "destAddr", "destAddr", required=False)
    registered = _integer(doc, "registeredDelivery", "registeredDelivery")
    if registered is not None and registered not in RECEIPT_REQUESTS:
        _invalid("registeredDelivery must be 0, 1 or 2", field="registeredDelivery")
    priority = _integer(doc, "smsPriority", "smsPriority")
    if priority is not None and not 0 <= priority <= 2:
        _invalid("smsPriority must be 0, 1 or 2", field="smsPriority")
    message = _object(doc, "message", "message")
    _string(message, "type", "message/type", required=True)
    data = _object(message, "data", "message/data")
    body = channels_v6.body_of(message, data, "message", _read_string, _ttl_seconds)
    cascade = tuple(channels_v6.cascade_of(doc, body.channel, _read_string, _ttl_seconds))
    channels_v6.refuse_unbuilt(body.channel, list(cascade))
    # rest_push.rst: destAddr may be left out for a push that names its externalUserId.
    if not dest_addr and (body.push is None or not body.push.external_user_id):
        _invalid("destAddr is required", field="destAddr")
    traffic_type, mailing = _policy_params(doc)
    notify_url = _notify_url(doc)
    try:
        schedule = parse_schedule_info(doc.get("scheduleInfo"), doc.get("useTimeDiff"))
    except ScheduleError as err:
        _invalid(err.message, field=_schedule_field(err.field))
    return SendRequest(
        login=login,
        password=password,
        client_ref=client_ref,
        dest_addr=_dest_addr(dest_addr) if dest_addr else "",
        text=body.text,
        service_number=body.service_number,
        ttl_seconds=body.ttl_seconds,
        receipt_request=RECEIPT_REQUESTS[1 if registered is None else registered],
        priority=priority or 0,
        traffic_type=traffic_type,
        mailing=mailing,
        notify_url=notify_url or "",
        notify_url_ignored=notify_url is None,
        schedule=schedule,
        channel=body.channel,
        push=body.push,
        viber=body.viber,
        cascade=cascade,
    )


def is_report_url(url: str) -> bool:
    """Whether reports can be sent to ``url``: an absolute http(s) URL with a host, a valid
    port, no whitespace or control characters and valid Unicode, as core checks it
    (rcs_core.messages.validation.check_report_url, which also limits its length)."""
    if any(c.isspace() or ord(c) < 0x20 or c == "\x7f" for c in url):
        return False
    try:
        url.encode("utf-8")  # no unpaired surrogates (JSON "\ud800")
        parts = urlsplit(url)
        _ = parts.port  # ValueError for a port that is not a number or out of range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _notify_url(doc: dict[str, Any]) -> str | None:
    """The report URL of notifyUrl: "" when not given, None when given but incorrect.

    rest_sms.rst: a notifyUrl that is given must not be empty and has at most 2048
    characters, or the request is refused. rest_status.rst, "Подключение сервиса": for an
    incorrect address the reports go to the URL configured for the partner."""
    if doc.get("notifyUrl") is None:
        return ""
    url = _string(doc, "notifyUrl", "notifyUrl", required=False)
    if not url.strip():
        _invalid(
            "notifyUrl must not be empty; leave it out for the configured URL", field="notifyUrl"
        )
    if len(url) > MAX_NOTIFY_URL_CHARS:
        _invalid(f"notifyUrl is longer than {MAX_NOTIFY_URL_CHARS} characters", field="notifyUrl")
    return url if is_report_url(url) else None


def parse_extra_params(raw: str) -> dict[str, str]:
    """Rapporto's ``extraParam``: "name1=value1,name2=value2"; a comma inside a value is
    doubled (",,"), a name cannot contain one. So in a run of commas each pair is one literal
    comma and an odd one left over separates items ("a=1,,,b=2" is a="1," and b="2").
    An empty item or one without "name=" is refused; names are stripped, values kept as is."""
    params: dict[str, str] = {}
    if not raw.strip():
        return params
    items: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(raw):
        if raw[i] == ",":
            if raw.startswith(",,", i):
                current.append(",")
                i += 2
                continue
            items.append("".join(current))
            current = []
        else:
            current.append(raw[i])
        i += 1
    items.append("".join(current))
    for item in items:
        name, eq, value = item.partition("=")
        if not item:
            _invalid(
                "extraParam has an empty item: a stray comma? (double a comma inside a value)",
                field="extraParam",
            )
        if not eq or not name.strip():
            _invalid(
                f"extraParam item {item!r} is not name=value (double a comma inside a value)",
                field="extraParam",
            )
        if "," in name:
            _invalid(
                f"extraParam name {name.strip()!r} contains a comma; only values may",
                field="extraParam",
            )
        params[name.strip()] = value  # a repeated name: the last value wins
    return params


def _policy_params(doc: dict[str, Any]) -> tuple[int | None, str]:
    """trafficType and mailing from extraParam (other parameters are kept by the partner's
    own systems; we ignore them)."""
    params = parse_extra_params(_string(doc, "extraParam", "extraParam", required=False))
    traffic_type: int | None = None
    if "trafficType" in params:
        value = params["trafficType"].strip()
        if value not in {"0", "1", "2", "5", "6", "7"}:
            _invalid("extraParam trafficType must be 0, 1, 2, 5, 6 or 7", field="extraParam")
        traffic_type = int(value)
    mailing = params.get("mailing", "").strip()
    if mailing and not re.fullmatch(r"[A-Za-z0-9_.@-]{1,64}", mailing):
        _invalid("extraParam mailing: 1-64 of A-Z a-z 0-9 _ . @ -", field="extraParam")
    return traffic_type, mailing


def parse_basic_auth(header: str | None) -> tuple[str, str]:
    """(login, password) from an ``Authorization: Basic …`` header."""
    if not header:
        raise RcsError(Reason.INVALID_LOGIN, "send your login and password with HTTP Basic auth")
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise RcsError(Reason.INVALID_LOGIN, "use the HTTP Basic authentication scheme")
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RcsError(Reason.INVALID_LOGIN, "the Basic credentials are not valid base64") from exc
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        decoded = raw.decode("latin-1")
    login, sep, password = decoded.partition(":")
    if not sep or not login:
        raise RcsError(Reason.INVALID_LOGIN, "the Basic credentials must be login:password")
    return login, password


def parse_message_id(raw: str) -> str | None:
    """The canonical decimal form of an mtNum, or None when it cannot be one."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 20:
        return None
    value = int(raw)
    if not 0 < value < 2**63:
        return None
    return str(value)
