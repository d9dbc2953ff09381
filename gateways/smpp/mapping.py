"""Pure translations between SMPP 3.4 fields and core's messages (no I/O).

Each ``*_of`` raises RefusedError with the command_status to answer when the field cannot
be accepted; callers turn it into the response PDU.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final
from urllib.parse import quote

from gateways.cascade_order import TypeOptions, chain_of, letters_of
from rcs.common.v1 import channel_pb2, message_pb2, status_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs_runtime import channels
from rcs_runtime.errors import CATALOGUE, RcsError, reason_of
from rcs_smpp.constants import CommandStatus, EsmClass, MessageState, RapportoTag, Tag
from rcs_smpp.encoding import decode_text
from rcs_smpp.errors import TextDecodeError
from rcs_smpp.pdu import DeliverSm, SubmitSm
from rcs_smpp.reassembly import PartInfo
from rcs_smpp.receipts import build_receipt_pdu
from rcs_smpp.segmentation import concatenation_header, split_text
from rcs_smpp.times import parse_smpp_time
from rcs_smpp.tlv import Tlvs

_S = CommandStatus
_PTAG: Final = re.compile(r"[0-9A-Za-z-]{1,50}")
_STATE: Final[dict[int, MessageState]] = {
    status_pb2.MESSAGE_STATUS_ACCEPTED: MessageState.ENROUTE,
    status_pb2.MESSAGE_STATUS_SENT: MessageState.ENROUTE,
    status_pb2.MESSAGE_STATUS_DELIVERED: MessageState.DELIVERED,
    status_pb2.MESSAGE_STATUS_READ: MessageState.DELIVERED,
    status_pb2.MESSAGE_STATUS_UNDELIVERED: MessageState.UNDELIVERABLE,
    status_pb2.MESSAGE_STATUS_EXPIRED: MessageState.EXPIRED,
    status_pb2.MESSAGE_STATUS_REJECTED: MessageState.REJECTED,
}
_FINAL: Final = frozenset(
    {
        status_pb2.MESSAGE_STATUS_DELIVERED,
        status_pb2.MESSAGE_STATUS_READ,
        status_pb2.MESSAGE_STATUS_UNDELIVERED,
        status_pb2.MESSAGE_STATUS_EXPIRED,
        status_pb2.MESSAGE_STATUS_REJECTED,
    }
)


class RefusedError(Exception):
    """A request field we cannot accept; ``status`` is the command_status to answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def status_for_reason(reason: str) -> int:
    """The SMPP command_status of a catalogued refusal (ESME_RSYSERR for an unknown one)."""
    known = reason_of(reason)
    return CATALOGUE[known].smpp_status if known is not None else int(_S.ESME_RSYSERR)


def ttl_of(validity_period: str, now: dt.datetime) -> int:
    """Seconds of validity (0: the partner's default). Core checks the allowed range."""
    if not validity_period:
        return 0
    try:
        until = parse_smpp_time(validity_period, now)
    except ValueError as e:  # also an impossible date, e.g. month 13
        raise RefusedError(_S.ESME_RINVEXPIRY, f"validity_period: {e}") from None
    seconds = int((until - now).total_seconds())
    if seconds < 1:
        raise RefusedError(_S.ESME_RINVEXPIRY, "validity_period is in the past")
    return seconds


def send_after_of(schedule_delivery_time: str, now: dt.datetime, ttl: int) -> dt.datetime | None:
    """When a scheduled message may go (None: at once), absolute or relative ("R"); a time
    in the past means at once (SMPP 3.4 5.2.15). 0x61 when malformed; 0x62 (SMPP_API
    section 7) when it is not before the end of the validity given with it (core checks
    it against the partner's default validity)."""
    if not schedule_delivery_time:
        return None
    try:
        when = parse_smpp_time(schedule_delivery_time, now)
    except ValueError as e:
        raise RefusedError(_S.ESME_RINVSCHED, f"schedule_delivery_time: {e}") from None
    if ttl and when >= now + dt.timedelta(seconds=ttl):
        raise RefusedError(
            _S.ESME_RINVEXPIRY, "schedule_delivery_time is not before the end of validity_period"
        )
    return when if when > now else None


def priority_of(priority_flag: int) -> int:
    """SMPP 0-3 → our 0 (lowest) - 2 (highest); 3 ("very urgent") counts as 2."""
    if not 0 <= priority_flag <= 3:
        raise RefusedError(_S.ESME_RINVPRTFLG, f"priority_flag {priority_flag}")
    return min(priority_flag, 2)


def receipt_request_of(registered_delivery: int) -> message_pb2.ReceiptRequest.ValueType:
    """Bits 1-0 of registered_delivery: 0 none, 1 all final states, 2 failures only."""
    kind = registered_delivery & 0x03
    if kind == 0:
        return message_pb2.RECEIPT_REQUEST_NONE
    if kind == 1:
        return message_pb2.RECEIPT_REQUEST_ALL
    if kind == 2:
        return message_pb2.RECEIPT_REQUEST_FAILURES
    raise RefusedError(_S.ESME_RINVREGDLVFLG, "registered_delivery 3 is reserved")


def ptag_of(tlvs: Tlvs) -> str | None:
    """Rapporto's ptag TLV (0x1411): 1-50 of [0-9a-zA-Z-], NUL optional; 0x0C when bad."""
    raw = tlvs.get(RapportoTag.PTAG)
    if raw is None:
        return None
    value = raw.split(b"\0", 1)[0].decode("latin-1")
    if not _PTAG.fullmatch(value):
        raise RefusedError(_S.ESME_RINVMSGID, "ptag must be 1-50 of 0-9 a-z A-Z -")
    return value


# SMPP_API.txt section 6, table 6: per type letter, its mode, sender, text and validity TLVs.
_CASCADE_TLVS: Final = {
    "s": (
        RapportoTag.SMS_CASCADE_MODE,
        RapportoTag.SMS_CASCADE_SENDER,
        RapportoTag.SMS_CASCADE_TEXT,
        RapportoTag.SMS_CASCADE_VALIDITY,
    ),
    "i": (
        RapportoTag.VIBER_CASCADE_MODE,
        RapportoTag.VIBER_CASCADE_SENDER,
        RapportoTag.VIBER_CASCADE_TEXT,
        RapportoTag.VIBER_CASCADE_VALIDITY,
    ),
    "v": (
        RapportoTag.VK_CASCADE_MODE,
        RapportoTag.VK_CASCADE_SENDER,
        RapportoTag.VK_CASCADE_TEXT,
        RapportoTag.VK_CASCADE_VALIDITY,
    ),
}


def _tlv_text(tlvs: Tlvs, tag: int) -> str:
    raw = tlvs.get(tag)
    if raw is None:
        return ""
    try:
        return raw.split(b"\0", 1)[0].decode("utf-8")
    except UnicodeDecodeError:
        raise RefusedError(_S.ESME_RINVOPTPARAMVAL, f"TLV 0x{tag:04X} is not UTF-8") from None


def cascade_of(submission: ms.MessageSubmission, tlvs: Tlvs, now: dt.datetime) -> None:
    """Apply cascade_order (0x1444, "P,S") and the per-type cascade TLVs to ``submission``
    (whose text and sender are set): the first type becomes the message's channel (a push
    carries the text and source_addr as its serviceNumber), the others its links. A type's
    mode TLV ("N", "Y", "S") is its condition; its sender, text and validity TLVs shape
    its own link (the message's own text and sender otherwise). Refusals are the
    catalogue's statuses (INVALID_CASCADE 0x45, an unknown letter 0xC4)."""
    raw = tlvs.get(RapportoTag.CASCADE_ORDER)
    if raw is None:
        return
    order = _tlv_text(tlvs, RapportoTag.CASCADE_ORDER)
    try:
        letters = letters_of(order, name="cascade_order")
    except RcsError as err:
        raise RefusedError(_S.ESME_RINVOPTPARAMVAL, err.message) from None
    options: dict[str, TypeOptions] = {}
    for letter in letters:
        tags = _CASCADE_TLVS.get(letter)
        if tags is None or tlvs.get(tags[0]) is None:  # "analysed only after the mode TLV"
            continue
        validity = _tlv_text(tlvs, tags[3])
        options[letter] = TypeOptions(
            condition=_tlv_text(tlvs, tags[0]),
            sender=_tlv_text(tlvs, tags[1]).strip(),
            text=_tlv_text(tlvs, tags[2]),
            ttl_seconds=ttl_of(validity, now) if validity else 0,
        )
    text, sender = submission.sms.text, submission.sms.sender
    try:
        chain = chain_of(
            letters, options, text=text, sender=sender, condition_field="cascade mode of {t}"
        )
    except RcsError as err:
        raise RefusedError(status_for_reason(err.reason), err.message) from None
    submission.cascade.extend(chain.links)
    submission.channel = chain.first  # type: ignore[assignment]
    if chain.first == channel_pb2.CHANNEL_PUSH:
        submission.ClearField("sms")
        submission.push.text, submission.push.service_number = text, sender


# SMPP_API.txt section 4.2, table 4: the Viber TLVs, each an octet string.
VIBER_TLVS: Final = (
    RapportoTag.VIBER_IMAGE_URL,
    RapportoTag.VIBER_ACTION,
    RapportoTag.VIBER_CAPTION,
    RapportoTag.VIBER_TTL,
)
VIBER_MAX_TEXT = 1000  # table 2, short_message: "Viber – 1000 символов"
VIBER_MAX_URL = 2048  # imageURL and action: "Максимальная длина – 2048 символов"
VIBER_MAX_CAPTION = 20  # caption: "Максимум 20 символов"
VIBER_MAX_TTL_OCTETS = 5  # viberTTL: "до 5" octets of seconds
VIBER_MIN_TTL, VIBER_MAX_TTL = 30, 86400  # rounded to them, not refused


# Plain ints, as set operations against a PDU's tags: checked on every submit_sm.
_VIBER_TAGS: Final = frozenset(int(tag) for tag in VIBER_TLVS)
_SHAPING_TAGS: Final = _VIBER_TAGS | {int(RapportoTag.CASCADE_ORDER)}


def has_viber_tlvs(tlvs: Tlvs) -> bool:
    return not _VIBER_TAGS.isdisjoint(tlvs)


def shapes_message(tlvs: Tlvs) -> bool:
    """Whether a submit_sm carries cascade_order or a Viber TLV, i.e. may be other than a
    plain SMS of its login's service (most carry no TLV at all: one test for them)."""
    return bool(tlvs) and not _SHAPING_TAGS.isdisjoint(tlvs)


def _viber_url(tlvs: Tlvs, tag: int, name: str) -> str:
    value = _tlv_text(tlvs, tag)
    if tlvs.get(tag) is not None and not value.startswith(("http://", "https://")):
        raise RefusedError(_S.ESME_RINVOPTPARAMVAL, f"{name} must begin with http:// or https://")
    if len(value) > VIBER_MAX_URL:
        raise RefusedError(_S.ESME_RINVOPTPARAMVAL, f"{name} is over {VIBER_MAX_URL} characters")
    return value


def viber_ttl_of(tlvs: Tlvs) -> int:
    """viberTTL (0x1435) in seconds, rounded into 30-86400 as SMPP_API.txt says; 0 when
    absent (the partner's default); 0xC4 when it is not 1-5 digits."""
    raw = tlvs.get(RapportoTag.VIBER_TTL)
    if raw is None:
        return 0
    digits = raw.split(b"\0", 1)[0]
    if not digits.isdigit() or len(digits) > VIBER_MAX_TTL_OCTETS:
        raise RefusedError(_S.ESME_RINVOPTPARAMVAL, "viberTTL must be 1-5 digits of seconds")
    return min(max(int(digits), VIBER_MIN_TTL), VIBER_MAX_TTL)


def viber_of(submission: ms.MessageSubmission, tlvs: Tlvs) -> None:
    """Make ``submission`` (text and sender set, cascade applied) a Viber message when its
    first type is Viber (cascade_order "I,…") or it carries the Viber TLVs (SMPP_API.txt
    4.2, table 4: imageURL 0x1436, action 0x1433, caption 0x1434, viberTTL 0x1435): "the
    kind of Viber message follows from the parameters given": text; image; text + button;
    text + image + button; caption and action go together. The Viber links of a cascade
    carry the same image and button. A bad value is 0xC4, a text over 1000 characters
    0x01."""
    given = has_viber_tlvs(tlvs)
    first = submission.channel == channel_pb2.CHANNEL_VIBER  # cascade_order "I,…"
    links = [link for link in submission.cascade if link.channel == channel_pb2.CHANNEL_VIBER]
    if not given and not first:
        return
    if submission.cascade and not first and not links:
        raise RefusedError(
            _S.ESME_RINVOPTPARAMVAL, "Viber TLVs with a cascade_order that has no Viber (I)"
        )
    image = _viber_url(tlvs, RapportoTag.VIBER_IMAGE_URL, "imageURL")
    action = _viber_url(tlvs, RapportoTag.VIBER_ACTION, "action")
    caption = _tlv_text(tlvs, RapportoTag.VIBER_CAPTION)
    if len(caption) > VIBER_MAX_CAPTION:
        raise RefusedError(
            _S.ESME_RINVOPTPARAMVAL, f"caption is at most {VIBER_MAX_CAPTION} characters"
        )
    if bool(caption) != bool(action):
        raise RefusedError(
            _S.ESME_RINVOPTPARAMVAL,
            "the button's caption (0x1434) and action (0x1433) go together",
        )
    ttl = viber_ttl_of(tlvs)
    for link in links:
        link.viber.image_url = image
        link.viber.button_caption, link.viber.button_action = caption, action
    if submission.cascade and not first:
        return  # the Viber message is a later link of the cascade
    text, sender = submission.sms.text, submission.sms.sender
    if len(text) > VIBER_MAX_TEXT:
        raise RefusedError(
            _S.ESME_RINVMSGLEN, f"a Viber text is at most {VIBER_MAX_TEXT} characters"
        )
    if not (text or image) or (image and text and not caption) or (caption and not text):
        raise RefusedError(
            _S.ESME_RINVOPTPARAMVAL,
            "a Viber message is a text; an image; a text + button; or a text + image +"
            " button (SMPP_API.txt 4.2)",
        )
    submission.channel = channel_pb2.CHANNEL_VIBER
    submission.ClearField("sms")
    content = submission.viber
    content.service_number, content.text, content.image_url = sender, text, image
    content.button_caption, content.button_action = caption, action
    if ttl:
        submission.ttl.seconds = ttl


def service_of(submission: ms.MessageSubmission, tlvs: Tlvs, service_type: str) -> None:
    """A plain submit_sm (no cascade_order, no Viber TLVs) of a login whose service is not
    SMS (Partner.service_type; SMPP_API.txt table 2: "Для отправки Voice Code необходимо
    указать тип сообщения FlashingCall") becomes a message of the service's type, with the
    text and source_addr; core checks the type's limits (a flash call's code, VK's 2048)."""
    channel = channels.BY_NAME.get(service_type, channel_pb2.CHANNEL_SMS)
    if (
        channel == channel_pb2.CHANNEL_SMS
        or submission.channel != channel_pb2.CHANNEL_SMS
        or tlvs.get(RapportoTag.CASCADE_ORDER) is not None
    ):
        return
    text, sender = submission.sms.text, submission.sms.sender
    submission.channel = channel  # type: ignore[assignment]
    if channel == channel_pb2.CHANNEL_PUSH:
        submission.ClearField("sms")
        submission.push.text, submission.push.service_number = text, sender
    elif channel in channels.MESSENGER_CONTENT:
        submission.ClearField("sms")
        submission.viber.text, submission.viber.service_number = text, sender


def binary_part_of(pdu: SubmitSm, part: PartInfo) -> tuple[bytes, int, int]:
    """(octets, data_coding, esm_class) of one part of a binary message the ESME split:
    it goes on as a message of its own with its own header, so the handset joins the
    parts by the ESME's reference and any other element of its header (a WAP push's
    ports) survives. Parts joined by SAR TLVs get the concatenation header they stand for.
    """
    if pdu.esm_class & EsmClass.UDHI:
        return binary_of(pdu)
    octets = pdu.short_message or pdu.tlvs.message_payload or b""
    header = concatenation_header(
        part.reference, part.total, part.seqnum, wide=part.reference > 0xFF
    )
    return header + octets, pdu.data_coding, EsmClass.UDHI


def binary_of(pdu: SubmitSm) -> tuple[bytes, int, int]:
    """(octets, data_coding, esm_class) of a whole binary message: the short message (or
    message_payload) as it is, its own user data header included when esm_class has UDHI,
    which is the only esm_class bit carried on (0x40)."""
    octets = pdu.short_message or pdu.tlvs.message_payload or b""
    if not octets:
        raise RefusedError(_S.ESME_RSUBMITFAIL, "a binary message needs octets")
    return octets, pdu.data_coding, pdu.esm_class & EsmClass.UDHI


def text_of(data_coding: int, payload: bytes) -> str:
    """The text of a whole text message."""
    try:
        return decode_text(data_coding, payload)
    except TextDecodeError as e:
        raise RefusedError(_S.ESME_RSUBMITFAIL, str(e)) from None


def message_state_of(status: status_pb2.MessageStatus.ValueType) -> MessageState:
    return _STATE.get(status, MessageState.UNKNOWN)


def smpp_time(when: dt.datetime) -> str:
    """An absolute SMPP time in UTC: "YYMMDDhhmmss" + tenths + "00+"."""
    utc = when.astimezone(dt.UTC)
    return utc.strftime("%y%m%d%H%M%S") + str(utc.microsecond // 100_000) + "00+"


def final_date_of(message: message_pb2.Message) -> str:
    """When a message reached its final state (the last history event); "" until then."""
    if message.status not in _FINAL or not message.history:
        return ""
    last = max(message.history, key=lambda e: (e.time.seconds, e.time.nanos))
    return smpp_time(last.time.ToDatetime(dt.UTC))


def error_code_of(message: message_pb2.Message) -> int:
    """query_sm_resp's error_code is one octet."""
    return min(max(message.error_code, 0), 0xFF)


# SMPP_API.txt table 9: message_type 0x1440 names the link's channel (VIBER, VK, SMS,
# FLASHINGCALL, PUSH).
_MESSAGE_TYPE: Final[dict[int, str]] = {
    channel_pb2.CHANNEL_SMS: "SMS",
    channel_pb2.CHANNEL_PUSH: "PUSH",
    channel_pb2.CHANNEL_VIBER: "VIBER",
    channel_pb2.CHANNEL_VK: "VK",
    channel_pb2.CHANNEL_FLASH_CALL: "FLASHINGCALL",
    # Not in table 9's list, which predates them: their names in REST v6.
    channel_pb2.CHANNEL_WHATSAPP: "WHATSAPP",
    channel_pb2.CHANNEL_TELEGRAM: "TELEGRAM",
}


def receipt_of(report: ms.Report) -> DeliverSm:
    """The deliver_sm receipt of a status report, as Rapporto's SMPP_API.txt (section 10,
    tables 8 and 9) describes it: source_addr the sender name and destination_addr the
    subscriber (Rapporto keeps the direction of the original message), Appendix B text with
    ``sub`` = the parts the message was sent as and ``err`` = the extended error code,
    receipted_message_id, message_state, message_type 0x1440, the partner's ptag 0x1411,
    and for a READ message stat DELIVRD with seen_date 0x1441."""
    done = report.done_time.ToDatetime(dt.UTC)
    pdu = build_receipt_pdu(
        source_addr=report.sender,
        destination_addr=report.destination,
        message_id=report.message_id,
        state=message_state_of(report.status),
        submit_date=report.submit_time.ToDatetime(dt.UTC),
        done_date=done,
        err=report.error_code if report.status != status_pb2.MESSAGE_STATUS_DELIVERED else 0,
        submitted=max(report.part_count, 1),
        text=report.text,
        # An alphanumeric sender name is TON 5; a number, international E.164.
        source_addr_ton=1 if report.sender.isdigit() else 5,
        source_addr_npi=1 if report.sender.isdigit() else 0,
        dest_addr_ton=1,
        dest_addr_npi=1,
    )
    pdu.tlvs.set_cstring(RapportoTag.MESSAGE_TYPE, _MESSAGE_TYPE.get(report.channel, "SMS"))
    if report.ptag:
        pdu.tlvs.set_cstring(RapportoTag.PTAG, report.ptag)
    if report.status == status_pb2.MESSAGE_STATUS_READ:
        pdu.tlvs.set_cstring(RapportoTag.SEEN_DATE, done.strftime("%y%m%d%H%M"))
    return pdu


_URL_SAFE: Final = ":/?#[]@!$&'()*+,;=%~"


def inbound_of(report: ms.Report, reference: int) -> list[DeliverSm]:
    """The deliver_sm PDUs of a subscriber's message (SMPP_API.txt section 7): source_addr
    the subscriber, destination_addr the service name, GSM 03.38 (data_coding 0) or UCS-2
    (8); a long text as several PDUs joined by UDH-8 with ``reference``.

    A messenger reply (issue 17) carries in each PDU what table 9 has names for: its
    channel in message_type 0x1440, the answered message's id in receipted_message_id
    (0x001E, "the message's id on the Service Provider's side") and its ptag-like partner
    id in 0x1411, and the media link in imageURL 0x1436 (table 4's Viber image tag); a
    media-only reply's text is that link, so a client reading short_message only sees it."""
    text = report.text or report.media_url
    data_coding, segments = split_text(text, reference=reference & 0xFF)
    pdus = []
    for segment in segments:
        pdu = DeliverSm(
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr=report.sender,
            destination_addr=report.destination,
            esm_class=segment.esm_class,
            data_coding=data_coding,
            short_message=segment.short_message,
            tlvs=segment.tlvs,
        )
        if report.channel not in (channel_pb2.CHANNEL_UNSPECIFIED, channel_pb2.CHANNEL_SMS):
            pdu.tlvs.set_cstring(RapportoTag.MESSAGE_TYPE, _MESSAGE_TYPE.get(report.channel, "SMS"))
        if report.reply_to_message_id:
            pdu.tlvs.set_cstring(Tag.RECEIPTED_MESSAGE_ID, report.reply_to_message_id)
            if _PTAG.fullmatch(report.reply_to_client_ref):
                pdu.tlvs.set_cstring(RapportoTag.PTAG, report.reply_to_client_ref)
        if report.media_url:  # table 4: URL-encoded, so ASCII
            pdu.tlvs.set_cstring(RapportoTag.VIBER_IMAGE_URL, quote(report.media_url, _URL_SAFE))
        pdus.append(pdu)
    return pdus
