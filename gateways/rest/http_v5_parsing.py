"""Rapporto HTTP API v5 send, the pure part: form decoding, parameters, answers.

Spec: rapporto-docs ``api/http/http_sms.rst`` (and ``http_request.rst``). A request is a
GET query or a POST ``application/x-www-form-urlencoded`` body; the answer is
``OK\\n<id>`` as text/plain or, with ``output=xml``, the XML envelope.

Errors carry a v5 code (400, 401, 402, 403, 406, 408, 409, 414, 500, 503). In text mode the
code is the HTTP status and the body a short text; with ``output=xml`` the code is in
``<code>`` and, as the spec says ("200 – запрос успешно обработан; 500 – внутренняя
ошибка"), the HTTP status is 200 for every processed request and 500 only for code 500.

Catalogued refusals (``RcsError``) become v5 codes through ``CatalogueEntry.http_v5``;
the only v5-specific code without a catalogue reason is 414 (message too long), raised
here as ``V5Error``. A binary message (``smpp_encoding`` / ``smpp_esm_class``, hex
``message``) goes to core as octets with its coding. ``sending_time`` becomes a sending
window (``gateways.rest.schedule``): in ``time_zone`` when given, with its earliest send
time; otherwise in the subscriber's own zone, which routing applies at dispatch.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from gateways.rest import http_v5_cascade, http_v5_channels
from gateways.rest.parsing import decode_text
from gateways.rest.schedule import Schedule, ScheduleError, Window
from rcs.common.v1 import channel_pb2, message_pb2
from rcs.core.v1 import message_service_pb2
from rcs_runtime import channels
from rcs_runtime.errors import RcsError, Reason
from rcs_smpp.constants import EsmClass
from rcs_smpp.gsm import is_gsm
from rcs_smpp.segmentation import USER_DATA_OCTETS, fits_with_own_header

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_FIELDS = 64
MAX_MESSAGE_CHARS = 2000  # http_sms.rst: "Максимально допустимая длина сообщения для SMS"
PUSH_MAX_CHARS = 1000  # http_push.rst: "Максимальная длина: 1000 символов"
FLASH_MAX_CHARS = 140  # http_sms.rst: a flash SMS is one SMS; 70 when it needs UCS-2
FLASH_MAX_UCS2_CHARS = 70
MAX_CLIENT_ID_CHARS = 25  # "Номер телефона абонента, до 25 символов"
MAX_REF_CHARS = 50  # ptag and partnerMsgId: "от одного до 50 символов"
MAX_TTL_SECONDS = 2880 * 60  # "Время жизни SMS-сообщений: от 1 до 2880 минут"
_PTAG = re.compile(r"[0-9a-zA-Z-]{1,50}")
_NUMBER_CHARS = re.compile(r"\+?[0-9\s\-().]+")
_MIN_DIGITS, _MAX_DIGITS = 10, 17
_SENDING_TIME = re.compile(r"([0-9]{1,2})_([0-9]{1,2})")
_TIME_ZONE = re.compile(r"([+-])([0-9]{2}):([0-9]{2})")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")

# Short texts of the v5 codes; 401's is the spec's own ("Invalid password").
SHORT_TEXTS: dict[int, str] = {
    200: "OK",
    400: "Invalid request",
    401: "Invalid password",
    402: "Payment required",
    403: "Service is absent or not active",
    406: "Invalid clientId",
    408: "Too many requests",
    409: "Prohibited sending duplicates",
    414: "Message is too long",
    500: "Internal error",
    503: "Request is being processed",
}
V5_CODES = frozenset(SHORT_TEXTS) - {200}


class V5Error(Exception):
    """A refusal with its v5 code; ``detail`` says what to change ("" for none)."""

    def __init__(self, code: int, detail: str = "") -> None:
        if code not in V5_CODES:
            raise ValueError(f"{code} is not an HTTP v5 error code")
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {detail}")

    @classmethod
    def from_rcs(cls, err: RcsError) -> V5Error:
        return cls(err.entry.http_v5, err.message)


@dataclass(frozen=True, slots=True)
class Answer:
    """A rendered v5 answer."""

    status: int
    content_type: str
    body: str


@dataclass(frozen=True, slots=True)
class V5Send:
    """A parsed v5 send request."""

    login: str
    password: str
    client_id: str
    text: str
    source: str  # "" lets core use the partner's default sender
    partner_msg_id: str  # "" when not given
    ptag: str  # "" when not given; returned in the partner's status reports
    priority: int
    schedule: Schedule | None = None  # sending_time in time_zone
    flash: bool = False  # flash=1: message class 0
    binary: tuple[bytes, int, int] | None = None  # (octets, data_coding, esm_class)
    # http_push.rst / http_cascade.rst: a push, or a cascade from order_list.
    channel: int = channel_pb2.CHANNEL_SMS
    push: message_pb2.PushContent | None = None
    cascade: tuple[message_service_pb2.CascadeLink, ...] = ()
    ttl_seconds: int = 0  # <first type>_resendValid; 0: the partner's default
    # A Viber or WhatsApp message (the login's service, or order_list's first type).
    viber: message_pb2.ViberContent | None = None

    def submission(
        self, now: dt.datetime | None = None, default_ttl_seconds: int = 0
    ) -> message_service_pb2.MessageSubmission:
        """The submission for core. With sending_time, a message accepted outside the
        window waits for its next opening; one whose validity (the partner's default,
        from authentication) would end before that is refused here with 400."""
        send_after = None
        if self.schedule is not None:
            now = now or dt.datetime.now(dt.UTC)
            try:
                send_after = self.schedule.plan(
                    now, dt.timedelta(seconds=default_ttl_seconds or MAX_TTL_SECONDS)
                ).send_after
            except ScheduleError as err:
                _invalid(f"sending_time: {err.message}", field="sending_time")
        submission = message_service_pb2.MessageSubmission(
            client_ref=self.partner_msg_id,
            destination=self.client_id,
            channel=self.channel,  # type: ignore[arg-type]
            priority=self.priority,
            receipt_request=message_pb2.RECEIPT_REQUEST_ALL,
            ptag=self.ptag,
            report_format=message_service_pb2.REPORT_FORMAT_HTTP_V5,
            # http_sms.rst, 503: repeats of a partnerMsgId are refused until the first is
            # answered (then they get its id).
            refuse_ref_in_progress=bool(self.partner_msg_id),
        )
        if self.cascade:
            submission.cascade.extend(self.cascade)
        if self.ttl_seconds:
            submission.ttl.seconds = self.ttl_seconds
        if self.push is not None:
            submission.push.CopyFrom(self.push)
        if self.viber is not None:
            submission.viber.CopyFrom(self.viber)
        elif self.channel in channels.MESSENGER_CONTENT:  # order_list's first type
            submission.viber.text, submission.viber.service_number = self.text, self.source
        sms = submission.sms  # set in place: cheaper than building SmsContent and copying it
        sms.sender = self.source
        if self.push is not None or self.viber is not None:
            pass  # a push, Viber or WhatsApp message: its text and sender are its content's
        elif self.binary is not None:
            sms.payload, sms.data_coding, sms.esm_class = self.binary
        else:
            sms.text = self.text
            sms.flash = self.flash
        if send_after is not None:
            submission.send_after.FromDatetime(send_after)
        if self.schedule is not None and self.schedule.window is not None:
            submission.send_window.CopyFrom(self.schedule.window.to_proto())
        return submission


def _invalid(message: str, *, field: str = "") -> NoReturn:
    raise RcsError(Reason.INVALID_REQUEST, message, field=field)


def parse_urlencoded(raw: str, encoding: str) -> list[tuple[str, str]]:
    """Name/value pairs of a query string or form body; %-escapes are bytes in ``encoding``."""
    try:
        return parse_qsl(
            raw,
            keep_blank_values=True,
            encoding=encoding,
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except ValueError as exc:  # UnicodeDecodeError, or too many fields
        if isinstance(exc, UnicodeDecodeError):
            raise RcsError(
                Reason.INVALID_CHARSET,
                f"a parameter is not valid {encoding} after %-decoding; send UTF-8",
            ) from exc
        _invalid(f"too many parameters (at most {MAX_FIELDS})")


def decode_form(body: bytes, mimetype: str, charset: str | None) -> list[tuple[str, str]]:
    """The pairs of a POST body: ``application/x-www-form-urlencoded`` in the declared
    charset (UTF-8 when none is declared)."""
    if mimetype.lower() != FORM_CONTENT_TYPE:
        _invalid(f"Content-Type must be {FORM_CONTENT_TYPE}, not {mimetype or 'missing'!r}")
    text, name = decode_text(body, charset)
    return parse_urlencoded(text, name)


def collect(*sources: Iterable[tuple[str, str]]) -> dict[str, str]:
    """One value per name over all sources (the query, then the body); a name given twice
    is refused rather than guessed."""
    params: dict[str, str] = {}
    for pairs in sources:
        for name, value in pairs:
            if name in params:
                _invalid(f"parameter {name} is given more than once", field=name)
            params[name] = value
    return params


def wants_xml(params: Mapping[str, str]) -> bool:
    """``output=xml`` asks for the XML envelope; any other value (or none) for text/plain."""
    return params.get("output", "").strip().lower() == "xml"


def sniff_xml(query: str, body: bytes) -> bool:
    """Whether a request that could not be decoded asked for ``output=xml``, found
    leniently, so that even that refusal is answered in the format the partner reads."""
    for raw in (query, body.decode("latin-1")):
        pairs = parse_qsl(raw, keep_blank_values=True, errors="replace")
        if any(name == "output" and wants_xml({name: value}) for name, value in pairs):
            return True
    return False


def _text(params: Mapping[str, str], name: str, *, required: bool) -> str:
    value = params.get(name, "")
    if required and not value:
        _invalid(f"{name} is required", field=name)
    if "\x00" in value:
        _invalid(f"{name} must not contain NUL characters", field=name)
    return value


def _client_id(raw: str) -> str:
    if raw.isascii() and raw.isdigit():
        digits = len(raw)  # the usual case, without a loop over the characters
    else:
        digits = sum(c.isascii() and c.isdigit() for c in raw)
    if (
        len(raw) > MAX_CLIENT_ID_CHARS
        or not _NUMBER_CHARS.fullmatch(raw.strip())
        or not _MIN_DIGITS <= digits <= _MAX_DIGITS
    ):
        raise RcsError(
            Reason.INVALID_DESTINATION,
            "clientId must be a phone number of up to 25 characters with country or trunk"
            " code, e.g. 79161234567, +79161234567, 8-916-123-45-67",
            field="clientId",
        )
    return raw


def _small_int(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or int(raw) > 255:
        _invalid(f"{name} must be an integer from 0 to 255", field=name)
    return int(raw)


def _binary(params: Mapping[str, str], message: str) -> tuple[bytes, int, int] | None:
    """(octets, data_coding, esm_class) of a binary message: one with smpp_encoding or
    smpp_esm_class, whose message is hex (http_sms.rst); None for a text message. Every
    part is sent with those values; without smpp_encoding the octets are 8-bit data (4).
    With UDHI (esm_class 0x40) the octets begin with the partner's own header and must fit
    one SMS (414 beyond 140 octets)."""
    encoding = _small_int(params, "smpp_encoding")
    esm_class = _small_int(params, "smpp_esm_class")
    if encoding is None and esm_class is None:
        return None
    if not _HEX.fullmatch(message):
        _invalid(
            "a binary message (smpp_encoding/smpp_esm_class given) must be an even number"
            " of hex digits",
            field="message",
        )
    payload = bytes.fromhex(message)
    esm_class = esm_class or 0
    if esm_class & EsmClass.UDHI and not fits_with_own_header(payload):
        raise V5Error(
            414,
            f"a binary message with its own header (smpp_esm_class 64) is one SMS: at most"
            f" {USER_DATA_OCTETS} octets, beginning with the header's length; it has"
            f" {len(payload)}",
        )
    return payload, 4 if encoding is None else encoding, esm_class


def _schedule(params: Mapping[str, str]) -> Schedule | None:
    """sending_time=hh_hh, the hours of the subscriber's local day the message may go in
    (10_20: from 10:00 to 20:00; 22_06 runs past midnight), in time_zone=±hh:mm.

    Without time_zone the zone is the number's (http_sms.rst), which routing knows from the
    number plan and applies when the message is about to go."""
    zone: dt.timezone | None = None
    time_zone = params.get("time_zone")
    if time_zone is not None:
        match = _TIME_ZONE.fullmatch(time_zone.strip())
        if not match or int(match[2]) > 14 or int(match[3]) > 59:
            _invalid(
                "time_zone must be ±hh:mm, e.g. %2B03:00 (the + %-encoded as %2B)",
                field="time_zone",
            )
        sign = -1 if match[1] == "-" else 1
        zone = dt.timezone(sign * dt.timedelta(hours=int(match[2]), minutes=int(match[3])))
    sending_time = params.get("sending_time")
    if sending_time is None:
        return None  # time_zone alone changes nothing
    match = _SENDING_TIME.fullmatch(sending_time.strip())
    if not match or int(match[1]) > 24 or int(match[2]) > 24:
        _invalid(
            "sending_time must be hh_hh (hours 0-24), e.g. 10_20; it must not be empty",
            field="sending_time",
        )
    # Without time_zone the hours are the subscriber's own (http_sms.rst): routing applies
    # the zone of the number's region when the message is about to go.
    try:
        return Schedule(Window.of(int(match[1]) * 60, int(match[2]) * 60, zone))
    except ScheduleError as err:
        _invalid(f"sending_time: {err.message}", field="sending_time")


def _message_limit(params: Mapping[str, str], plain: int | None) -> int:
    """A VK message (order_list starting with v) may have http_vk.rst's 2048 characters; a
    plain message of a non-SMS service its type's own limit."""
    if plain is not None:
        return http_v5_channels.max_text(plain)
    if "order_list" not in params:
        return MAX_MESSAGE_CHARS
    first = params.get("order_list", "").split(",")[0].strip().lower()
    if channels.BY_LETTER.get(first) == channels.VK:
        return channels.LIMITS[channels.VK].max_text
    return MAX_MESSAGE_CHARS


# Checked on every request: most carry none of them.
_MESSENGER_PARAMETERS = frozenset(channels.HTTP_V5_PARAMETERS)


def credentials(params: Mapping[str, str]) -> tuple[str, str]:
    """serviceId and pass, both required (400)."""
    return _text(params, "serviceId", required=True), _text(params, "pass", required=True)


def parse_send(
    params: Mapping[str, str], service_type: str = "SMS", default_ttl_seconds: int = 0
) -> V5Send:
    """Check the parameters of one v5 send; unknown parameters are ignored.
    ``service_type`` is the login's (Partner.service_type): the type of a request without
    order_list; ``default_ttl_seconds`` its default validity.

    Order: required parameters (400), clientId (406), message length (414), then the
    optional parameters (400), binary and flash length (414), scheduling (400).
    """
    login, password = credentials(params)
    service = channels.BY_NAME.get(service_type, channels.SMS)
    # A request of an SMS or PUSH service, or with order_list, is an SMS, push or cascade
    # as before; any other is a plain message of the service's type.
    plain = None if "order_list" in params or service in (channels.SMS, channels.PUSH) else service
    messenger_parameters = plain is None and not _MESSENGER_PARAMETERS.isdisjoint(params)
    for name, named in channels.HTTP_V5_PARAMETERS.items() if messenger_parameters else ():
        if name in params:
            first = params.get("order_list", "").split(",")[0].strip().lower()
            if channels.BY_LETTER.get(first) != channels.BY_NAME[named]:
                _invalid(
                    f"{name} is a {named} parameter; this login's service sends"
                    f" {service_type} (order_list may start with another type)",
                    field=name,
                )
    client_id = _text(params, "clientId", required=True)
    message = _text(
        params,
        "message",
        required=plain is None or http_v5_channels.message_required(plain, params),
    )
    client_id = _client_id(client_id)
    limit = _message_limit(params, plain)
    if len(message) > limit:
        raise V5Error(414, f"message is {len(message)} characters; at most {limit} are allowed")
    source = _text(params, "source", required=False).strip()
    ptag = params.get("ptag")
    if ptag is not None and not _PTAG.fullmatch(ptag):
        _invalid("ptag must be 1-50 of 0-9 a-z A-Z -", field="ptag")
    partner_msg_id = params.get("partnerMsgId")
    if partner_msg_id is not None:
        partner_msg_id = _text(params, "partnerMsgId", required=True)
        if len(partner_msg_id) > MAX_REF_CHARS:
            _invalid(f"partnerMsgId must be 1-{MAX_REF_CHARS} characters", field="partnerMsgId")
    priority_raw = params.get("smsPriority")
    if priority_raw is not None and priority_raw.strip() not in {"0", "1", "2"}:
        _invalid("smsPriority must be 0, 1 or 2", field="smsPriority")
    binary = _binary(params, message) if plain is None else None
    # http_sms.rst: flash=1 sends a flash SMS, anything else an ordinary one; a flash SMS is
    # one SMS: at most 70 characters of Cyrillic (UCS-2), 140 otherwise. Binary messages
    # carry their own data_coding.
    flash = params.get("flash", "").strip() == "1" and binary is None and plain is None
    if flash:
        limit = FLASH_MAX_CHARS if is_gsm(message) else FLASH_MAX_UCS2_CHARS
        if len(message) > limit:
            raise V5Error(
                414,
                f"a flash SMS is at most {limit} characters of this text; it has {len(message)}",
            )
    schedule = _schedule(params)
    priority = int(priority_raw) if priority_raw is not None else 0
    channel: int = channel_pb2.CHANNEL_SMS
    push: message_pb2.PushContent | None = None
    viber: message_pb2.ViberContent | None = None
    cascade: tuple[message_service_pb2.CascadeLink, ...] = ()
    ttl_seconds = 0
    if plain is not None:
        found = http_v5_channels.plain_of(plain, params, message, source, default_ttl_seconds)
        channel, ttl_seconds, viber = found.channel, found.ttl_seconds, found.viber
        priority = 0  # smsPriority is an SMS parameter
    else:
        order = http_v5_cascade.order_of(
            params, message, source, default_order="p" if service == channels.PUSH else None
        )
        if order is not None and order.push is not None:
            if len(message) > PUSH_MAX_CHARS:
                raise V5Error(
                    414, f"a push is at most {PUSH_MAX_CHARS} characters; it has {len(message)}"
                )
            binary, flash = None, False  # SMS options
        if order is not None:
            channel, push, cascade = order.first, order.push, tuple(order.links)
            ttl_seconds = order.ttl_seconds
    return V5Send(
        login=login,
        password=password,
        client_id=client_id,
        text=message,
        source=source,
        partner_msg_id=partner_msg_id or "",
        ptag=ptag or "",
        priority=priority,
        schedule=schedule,
        flash=flash,
        binary=binary,
        channel=channel,
        push=push,
        cascade=cascade,
        ttl_seconds=ttl_seconds,
        viber=viber,
    )


def error_text(code: int, detail: str) -> str:
    """The short text of a v5 error: "Invalid password" for 401, as the spec shows; for the
    others the short text and, when there is one, what to change ("Invalid request,
    clientId is required")."""
    short = SHORT_TEXTS[code]
    if code == 401 or not detail or detail == short:
        return short
    return f"{short}, {detail}"


def _xml(code: int, text: str, message_id: str | None) -> str:
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        "<response>",
        f"    <code>{code}</code>",
        f"    <text>{escape(text)}</text>",
    ]
    if message_id is not None:
        lines += ["    <payload>", f"        <id>{escape(message_id)}</id>", "    </payload>"]
    lines += ["</response>", ""]
    return "\n".join(lines)


def render_ok(message_id: str, *, xml: bool) -> Answer:
    if xml:
        return Answer(200, "application/xml", _xml(200, "OK", message_id))
    return Answer(200, "text/plain", f"OK\n{message_id}")


def render_error(err: V5Error, *, xml: bool) -> Answer:
    text = error_text(err.code, err.detail)
    if xml:
        return Answer(
            500 if err.code == 500 else 200, "application/xml", _xml(err.code, text, None)
        )
    return Answer(err.code, "text/plain", text)
