"""Validation of submissions, shared by every gateway because it runs in core."""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from rcs.common.v1 import message_pb2
from rcs.core.v1 import message_service_pb2
from rcs_core.delivery import links
from rcs_core.messages.channel_grants import (
    ChannelGrant,
    Grants,
    check_identity,
    check_template,
    grant_of,
)
from rcs_core.messages.model import NewMessage, StoredWindow
from rcs_core.messages.numbers import normalize_msisdn
from rcs_runtime import channels
from rcs_runtime.errors import RcsError, Reason
from rcs_runtime.send_window import DAY_MINUTES
from rcs_smpp.constants import EsmClass
from rcs_smpp.segmentation import USER_DATA_OCTETS, fits_with_own_header

CHANNEL_SMS = 1
MAX_TEXT_CHARS = 2000
MIN_TTL = dt.timedelta(seconds=1)
# REST_BATCH allows 3 days; REST v6 and HTTP v5 keep their own 48 h limit at the gateway.
MAX_TTL = dt.timedelta(days=3)
RECEIPT_ALL = 2
TRAFFIC_TYPES = (0, 1, 2, 5, 6, 7)
MAILING = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
PTAG = re.compile(r"[0-9A-Za-z-]{1,50}")  # SMPP_API.txt, http_sms.rst: "0...9a...zA...Z-"
REPORT_FORMATS = (0, 1, 2, 3, 4)  # rcs.core.v1.ReportFormat
# The partner's reference (REST v6 id, partnerMsgId, messages/id): 1-50 characters in
# http_sms.rst and rest_batch_sms.rst; it is a key of the client_refs index.
MAX_CLIENT_REF_CHARS = 50
MAX_URL_CHARS = 2048  # rest_sms.rst: a notifyUrl of at most 2048 characters


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs 3x on the hot path
class Submission:
    client_ref: str
    destination: str
    channel: int
    text: str
    sender: str
    priority: int
    ttl: dt.timedelta
    receipt_request: int
    traffic_type: int | None = None
    mailing: str = ""
    ptag: str = ""
    report_format: int = 0
    report_url: str = ""
    send_after: dt.datetime | None = None
    send_window: message_pb2.SendWindow | None = None
    flash: bool = False
    # Binary SMS: (data_coding, esm_class) of every part; text is then the octets in hex.
    binary: tuple[int, int] | None = None
    refuse_ref_in_progress: bool = False
    push: message_pb2.PushContent | None = None  # CHANNEL_PUSH: text/sender are its own
    cascade: list[message_service_pb2.CascadeLink] | None = None
    viber: message_pb2.ViberContent | None = None  # CHANNEL_VIBER: text/sender are its own


def submission_of(sub: message_service_pb2.MessageSubmission) -> Submission:
    """The fields of a gRPC submission, unchecked. A push or Viber message keeps its text
    and sender in its own content."""
    sms = sub.sms
    if sub.channel == CHANNEL_SMS:
        payload = sms.payload
        return _submission(
            sub,
            payload.hex() if payload else sms.text,
            sms.sender,
            flash=sms.flash,
            binary=_binary(sms) if payload else None,
        )
    push = sub.push if sub.channel == channels.PUSH else None
    viber = sub.viber if sub.channel in channels.MESSENGER_CONTENT else None
    text, sender = _text_and_sender(push, viber, sms)
    return _submission(sub, text, sender, push=push, viber=viber)


def _submission(
    sub: message_service_pb2.MessageSubmission,
    text: str,
    sender: str,
    *,
    flash: bool = False,
    binary: tuple[int, int] | None = None,
    push: message_pb2.PushContent | None = None,
    viber: message_pb2.ViberContent | None = None,
) -> Submission:
    ttl = sub.ttl
    return Submission(
        sub.client_ref,
        sub.destination,
        sub.channel,
        text,
        sender,
        sub.priority,
        _timedelta(ttl.seconds, ttl.nanos),
        sub.receipt_request,
        sub.traffic_type if sub.HasField("traffic_type") else None,
        sub.mailing,
        sub.ptag,
        sub.report_format,
        sub.report_url,
        sub.send_after.ToDatetime(dt.UTC) if sub.HasField("send_after") else None,
        sub.send_window if sub.HasField("send_window") else None,
        flash,
        binary,
        sub.refuse_ref_in_progress,
        push,
        list(sub.cascade) if sub.cascade else None,
        viber,
    )


def _text_and_sender(
    push: message_pb2.PushContent | None,
    viber: message_pb2.ViberContent | None,
    sms: message_pb2.SmsContent,
) -> tuple[str, str]:
    if push is not None:
        return push.text, push.service_number
    if viber is not None:
        return viber.text, viber.service_number
    return sms.text, sms.sender


def _binary(sms: message_pb2.SmsContent) -> tuple[int, int]:
    """(data_coding, esm_class) of a binary SMS, or INVALID_TEXT saying what is wrong."""
    if sms.text:
        raise RcsError(Reason.INVALID_TEXT, "a binary SMS has a payload and no text", field="text")
    if not 0 <= sms.data_coding <= 255 or not 0 <= sms.esm_class <= 255:
        raise RcsError(
            Reason.INVALID_TEXT, "data_coding and esm_class are octets (0-255)", field="data_coding"
        )
    if sms.esm_class & EsmClass.UDHI and not fits_with_own_header(sms.payload):
        raise RcsError(
            Reason.INVALID_TEXT,
            f"a binary SMS with its own header (esm_class 0x40) is one SMS: at most"
            f" {USER_DATA_OCTETS} octets, the header's length octet first, then data",
            field="payload",
        )
    return sms.data_coding, sms.esm_class


@functools.lru_cache(maxsize=1024)
def _timedelta(seconds: int, nanos: int) -> dt.timedelta:
    """A Duration's value; a batch repeats a handful of validities, and building each one
    anew through Duration.ToTimedelta cost a tenth of the check."""
    return dt.timedelta(seconds=seconds, microseconds=nanos // 1000)


def validate(
    sub: Submission,
    *,
    default_sender: str,
    default_ttl: dt.timedelta,
    trace_parent: str,
    now: dt.datetime | None = None,
    owned_senders: frozenset[str] | None = None,
    grants: Grants = None,
) -> NewMessage:
    """A storable message, or RcsError naming the field and what to change."""
    if sub.cascade:  # the chain's own rules first: they hold whatever channels are built
        links.check_chain(sub.channel, sub.cascade)
    push: bytes | None = None
    if sub.channel == CHANNEL_SMS:
        destination = _destination(sub.destination)
        _check_text(sub.text, MAX_TEXT_CHARS)
        sender = _owned(_sender(sub.sender or default_sender), owned_senders)
        ttl = sub.ttl or default_ttl
        if not MIN_TTL <= ttl <= MAX_TTL:
            raise RcsError(
                Reason.INVALID_TTL, "ttl must be between 1 second and 3 days", field="ttl"
            )
    else:
        destination, sender, ttl, push = _other_content(sub, default_sender, default_ttl, grants)
    if not 0 <= sub.priority <= 2:
        raise RcsError(Reason.INVALID_REQUEST, "priority must be 0, 1 or 2", field="priority")
    if sub.traffic_type is not None and sub.traffic_type not in TRAFFIC_TYPES:
        raise RcsError(
            Reason.INVALID_REQUEST,
            "trafficType must be 0, 1, 2, 5, 6 or 7 (Rapporto's traffic types)",
            field="traffic_type",
        )
    if sub.mailing and not MAILING.fullmatch(sub.mailing):
        raise RcsError(
            Reason.INVALID_REQUEST, "mailing: 1-64 of A-Z a-z 0-9 _ . @ -", field="mailing"
        )
    if len(sub.client_ref) > MAX_CLIENT_REF_CHARS:
        raise RcsError(
            Reason.INVALID_REQUEST,
            f"the message's reference is longer than {MAX_CLIENT_REF_CHARS} characters",
            field="client_ref",
        )
    if sub.ptag and not PTAG.fullmatch(sub.ptag):
        raise RcsError(Reason.INVALID_REQUEST, "ptag: 1-50 of 0-9 a-z A-Z -", field="ptag")
    if sub.report_format not in REPORT_FORMATS:
        raise RcsError(Reason.INVALID_REQUEST, "unknown report_format", field="report_format")
    if sub.report_url:
        check_report_url(sub.report_url)
    if sub.send_after is not None:
        latest = (now or dt.datetime.now(dt.UTC)) + ttl
        if sub.send_after >= latest:
            raise RcsError(
                Reason.INVALID_REQUEST,
                "the scheduled time is after the end of the validity period;"
                " send it later or give a longer validity",
                field="send_after",
            )
    window = stored_window(sub.send_window) if sub.send_window is not None else None
    cascade: links.Checked | None = None
    if sub.cascade:
        cascade = links.check(
            sub.channel,
            sub.cascade,
            lambda link, field: validate_link(
                link,
                destination,
                default_sender,
                default_ttl,
                field=field,
                owned=owned_senders,
                grants=grants,
            ),
        )
        if not destination:
            raise RcsError(
                Reason.INVALID_DESTINATION,
                "a cascade needs destAddr: its fallback messages go to the number",
                field="destination",
            )
    binary = sub.binary
    # Positional, in the field order of NewMessage: keyword arguments made this call cost
    # several times as much, and it runs for every message (docs/benchmarks.md, issue 13).
    return NewMessage(
        sub.client_ref or None,  # client_ref
        sub.channel,  # channel
        destination,  # destination
        sender,  # sender
        sub.text,  # body
        sub.priority,  # priority
        ttl,  # ttl
        sub.receipt_request or RECEIPT_ALL,  # receipt_request
        trace_parent,  # trace_parent
        sub.traffic_type,  # traffic_type
        sub.mailing,  # mailing
        sub.ptag or None,  # ptag
        sub.report_format,  # report_format
        sub.report_url or None,  # report_url
        sub.send_after,  # send_after
        None,  # receipt_copies
        window,  # window
        sub.flash or None,  # flash
        binary[0] if binary else None,  # data_coding
        binary[1] if binary else None,  # esm_class
        sub.refuse_ref_in_progress,  # refuse_ref_in_progress
        push,  # push
        None if cascade is None else 0,  # cascade_id
        None if cascade is None else cascade.links,  # cascade_links
        None if cascade is None else cascade.wait_for,  # wait_for
    )


def _destination(raw: str) -> str:
    destination = normalize_msisdn(raw)
    if destination is None:
        raise RcsError(
            Reason.INVALID_DESTINATION,
            "destination must be 10–15 digits with country code, e.g. 79161234567",
            field="destination",
        )
    return destination


def _check_text(text: str, limit: int, field: str = "text", what: str = "text") -> None:
    if not text:
        raise RcsError(Reason.INVALID_TEXT, f"{what} must not be empty", field=field)
    if "\x00" in text:
        raise RcsError(Reason.INVALID_TEXT, f"{what} must not contain NUL characters", field=field)
    if len(text) > limit:
        raise RcsError(
            Reason.INVALID_TEXT, f"{what} is longer than {limit} characters", field=field
        )


def _sender(sender: str, field: str = "sender") -> str:
    if not sender or len(sender) > 21:
        raise RcsError(
            Reason.INVALID_SENDER,
            "serviceNumber is required (no default is set for this login) and at most 21 chars",
            field=field,
        )
    return sender


def _owned(sender: str, owned: frozenset[str] | None, field: str = "sender") -> str:
    """Senders belong to partners (issue 14): another client's brand is refused."""
    if owned is not None and sender not in owned:
        raise RcsError(
            Reason.INVALID_SENDER,
            f"sender {sender!r} is not one of this login's senders (the administrator"
            " assigns them to the login)",
            field=field,
        )
    return sender


def _other_content(
    sub: Submission,
    default_sender: str,
    default_ttl: dt.timedelta,
    grants: Grants = None,
    field: str = "",
) -> tuple[str, str, dt.timedelta, bytes | None]:
    """(destination, sender, ttl, serialized PushContent or ViberContent) of a message of a
    channel other than SMS, checked against its channel's limits (rcs_runtime.channels)."""
    name = channels.name_of(sub.channel)
    if not channels.is_built(sub.channel):
        raise RcsError(
            Reason.INVALID_MESSAGE_TYPE,
            f"{name} messages are not available on this installation yet"
            f" ({channels.built_list()} are)",
            field=f"{field}channel",
        )
    grant = grant_of(grants, sub.channel, field) if sub.channel != channels.PUSH else None
    if grant is not None and grant.default_ttl is not None:
        default_ttl = grant.default_ttl  # the channel's own default for this partner
    if sub.channel in (channels.VK, channels.FLASHINGCALL):
        return _text_channel(sub, default_sender, default_ttl, field, grant)
    push = sub.push or message_pb2.PushContent()
    limits = channels.LIMITS[sub.channel]
    if sub.destination or not push.external_user_id:
        destination = _destination(sub.destination)
    else:
        destination = ""  # sent to the partner's user (externalUserId) alone
    if sub.channel in channels.MESSENGER_CONTENT:
        viber = sub.viber or message_pb2.ViberContent()
        if viber.template_name:
            _check_template_shape(sub, viber, field)
        else:
            links.check_viber(viber, field, name)
        if sub.text:  # an image alone has none
            _check_text(sub.text, limits.max_text, f"{field}text", f"{name} text")
    else:
        _check_text(sub.text, limits.max_text, f"{field}text", f"{name} text")
    sender = _sender(sub.sender or default_sender, f"{field}sender")
    if sub.channel != channels.PUSH:
        check_identity(grant, sender, sub.channel, field)
    if sub.channel == channels.WHATSAPP:
        check_template(grant, viber, field)
    ttl = sub.ttl or default_ttl
    if sub.channel == channels.WHATSAPP and not sub.ttl:
        ttl = _whole_days(default_ttl, limits)  # the partner's default, in WhatsApp's steps
    if sub.channel == channels.WHATSAPP and ttl % channels.WHATSAPP_TTL_STEP:
        raise RcsError(
            Reason.INVALID_TTL,
            "a WHATSAPP message's ttl is whole days: 1440, 2880, ... 10080 minutes",
            field=f"{field}ttl",
        )
    _check_ttl(ttl, limits, name, field)
    if sub.channel in channels.MESSENGER_CONTENT:
        # Stored in messages.push, the column of a channel's own content (its channel says
        # which message it holds).
        content = message_pb2.ViberContent()
        content.CopyFrom(viber)
        content.service_number = sender
        return destination, sender, ttl, content.SerializeToString()
    links.check_push(push, field)
    return destination, sender, ttl, push.SerializeToString()


def _check_template_shape(sub: Submission, viber: message_pb2.ViberContent, field: str) -> None:
    """A template send (WhatsApp's way to start a conversation) carries the template alone:
    its text is the approved template's, filled with the parameters."""
    if sub.channel != channels.WHATSAPP:
        raise RcsError(
            Reason.INVALID_REQUEST, "templates are WHATSAPP messages", field=f"{field}template"
        )
    if sub.text or viber.image_url or viber.button_caption or viber.button_action:
        raise RcsError(
            Reason.INVALID_REQUEST,
            "a WHATSAPP template message carries no text, image or button of its own",
            field=f"{field}template",
        )
    for p in viber.template_parameters:
        _check_text(p, channels.LIMITS[channels.WHATSAPP].max_text, f"{field}template.parameters")


def _check_ttl(ttl: dt.timedelta, limits: channels.Limits, name: str, field: str) -> None:
    if not limits.min_ttl <= ttl <= limits.max_ttl:
        raise RcsError(
            Reason.INVALID_TTL,
            f"a {name} message's ttl must be {int(limits.min_ttl.total_seconds())} to"
            f" {int(limits.max_ttl.total_seconds())} seconds",
            field=f"{field}ttl",
        )


def flashcall_code(text: str, field: str = "text") -> str:
    """The one 4-6 digit code a FlashingCall text holds (the caller number ends in it)."""
    codes = channels.FLASHCALL_CODE.findall(text)
    if len(codes) != 1:
        raise RcsError(
            Reason.INVALID_TEXT,
            "FlashingCall text should contain one 4-6 digit code (the caller number ends in"
            f" it); found {len(codes)}",
            field=field,
        )
    return str(codes[0])


def _text_channel(
    sub: Submission,
    default_sender: str,
    default_ttl: dt.timedelta,
    field: str,
    grant: ChannelGrant | None = None,
) -> tuple[str, str, dt.timedelta, bytes | None]:
    """VK and FlashingCall: a text to a number, as an SMS is stored (no content column).
    VK needs its community's serviceNumber (rest_vk.rst); a flash call has none, its
    caller number is the provider's. No ttl takes the partner's default, cut to the
    channel's longest (a flash call waits 5 minutes at most)."""
    name = channels.name_of(sub.channel)
    limits = channels.LIMITS[sub.channel]
    destination = _destination(sub.destination)
    _check_text(sub.text, limits.max_text, f"{field}text", f"{name} text")
    if sub.channel == channels.FLASHINGCALL:
        flashcall_code(sub.text, f"{field}text")
        sender = sub.sender or default_sender
    else:
        sender = _sender(sub.sender or default_sender, f"{field}sender")
    if sender:  # a flash call without one takes the provider's caller number
        check_identity(grant, sender, sub.channel, field)
    ttl = sub.ttl or min(default_ttl, limits.max_ttl)
    _check_ttl(ttl, limits, name, field)
    return destination, sender, ttl, None


def _whole_days(ttl: dt.timedelta, limits: channels.Limits) -> dt.timedelta:
    """``ttl`` rounded up to whole days, within the channel's range."""
    days = -(-ttl // channels.WHATSAPP_TTL_STEP)
    return min(max(days * channels.WHATSAPP_TTL_STEP, limits.min_ttl), limits.max_ttl)


def validate_link(
    link: message_service_pb2.CascadeLink,
    destination: str,
    default_sender: str,
    default_ttl: dt.timedelta,
    *,
    field: str,
    owned: frozenset[str] | None = None,
    grants: Grants = None,
) -> tuple[str, str, dt.timedelta, bytes | None, tuple[int, int] | None]:
    """(body, sender, ttl, serialized push or Viber content, binary coding) of a cascade
    link's message, checked as a message of its channel sent to ``destination``."""
    ttl = _timedelta(link.ttl.seconds, link.ttl.nanos)
    if link.channel == CHANNEL_SMS:
        if not destination:
            raise RcsError(
                Reason.INVALID_DESTINATION,
                "an SMS link needs the cascade's destAddr",
                field="destination",
            )
        sms = link.sms
        binary = _binary(sms) if sms.payload else None
        body = sms.payload.hex() if sms.payload else sms.text
        _check_text(body, MAX_TEXT_CHARS, f"{field}text")
        sender = _owned(
            _sender(sms.sender or default_sender, f"{field}sender"), owned, f"{field}sender"
        )
        ttl = ttl or default_ttl
        if not MIN_TTL <= ttl <= MAX_TTL:
            raise RcsError(
                Reason.INVALID_TTL, "ttl must be between 1 second and 3 days", field=f"{field}ttl"
            )
        return body, sender, ttl, None, binary
    push = link.push if link.channel == channels.PUSH else None
    viber = link.viber if link.channel in channels.MESSENGER_CONTENT else None
    text, sender = _text_and_sender(push, viber, link.sms)
    sub = Submission("", destination, link.channel, text, sender, 0, ttl, 0, push=push, viber=viber)
    _, sender, ttl, content = _other_content(sub, default_sender, default_ttl, grants, field)
    return sub.text, sender, ttl, content, None


def stored_window(w: message_pb2.SendWindow) -> StoredWindow:
    """A sending window as messages stores it (begin, end, weekday bit mask, UTC offset or
    None for the subscriber's zone), or INVALID_REQUEST naming what is wrong."""
    if not 0 <= w.begin_minute < DAY_MINUTES or not 0 < w.end_minute <= DAY_MINUTES:
        raise RcsError(
            Reason.INVALID_REQUEST,
            "send_window: begin 0-1439 and end 1-1440 minutes after midnight",
            field="send_window",
        )
    if w.begin_minute == w.end_minute:
        raise RcsError(
            Reason.INVALID_REQUEST,
            "send_window begins and ends at the same time",
            field="send_window",
        )
    if any(not 1 <= d <= 7 for d in w.weekdays):
        raise RcsError(
            Reason.INVALID_REQUEST,
            "send_window weekdays: 1 (Monday) to 7 (Sunday)",
            field="send_window",
        )
    if not w.subscriber_zone and not -720 <= w.utc_offset_minutes <= 840:
        raise RcsError(
            Reason.INVALID_REQUEST, "send_window UTC offset: -12:00 to +14:00", field="send_window"
        )
    days = 0
    for d in w.weekdays:
        days |= 1 << (d - 1)
    offset = None if w.subscriber_zone else w.utc_offset_minutes
    return (w.begin_minute, w.end_minute, days, offset)


def check_report_url(url: str, *, field: str = "report_url") -> None:
    """An absolute http(s) URL a report can be sent to, or INVALID_REQUEST naming ``field``."""
    parts = urlsplit(url)
    if (
        len(url) > MAX_URL_CHARS
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() for c in url)
    ):
        raise RcsError(
            Reason.INVALID_REQUEST,
            f"{field} must be an absolute http:// or https:// URL of at most"
            f" {MAX_URL_CHARS} characters",
            field=field,
        )
