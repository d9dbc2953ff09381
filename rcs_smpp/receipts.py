"""Delivery receipts: parsing what operators send, building what we send.

The text form is SMPP 3.4 Appendix B::

    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD
    err:E text:...

Operators bend it in every way (upper case keys, spaces after colons, seconds in dates,
missing fields, full words such as DELIVERED), so the parser only relies on ``key:`` markers.
When the receipted_message_id / message_state TLVs are present they win over the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from rcs_smpp.constants import STAT_BY_STATE, STATE_BY_STAT, DataCoding, EsmClass, MessageState
from rcs_smpp.errors import SmppError
from rcs_smpp.ids import normalize_message_id
from rcs_smpp.pdu import DataSm, DeliverSm, ShortMessagePdu
from rcs_smpp.tlv import Tlvs


class ReceiptError(SmppError, ValueError):
    """A receipt without any message id."""


@dataclass(frozen=True, slots=True)
class Receipt:
    message_id: str  # normalised (see ids.normalize_message_id)
    raw_message_id: str  # as the operator wrote it
    stat: str  # canonical Appendix B word (DELIVRD, UNDELIV, ...), or as written if unknown
    message_state: int | None  # MessageState value; None when neither TLV nor stat tells
    error_code: int | None  # err as a number; None when absent or not numeric
    err: str  # err as written
    submitted: int | None  # sub
    delivered: int | None  # dlvrd
    submit_date: datetime | None  # naive: receipts carry the SMSC's local time, no zone
    done_date: datetime | None
    text: str
    network_error_code: tuple[int, int] | None = None


_KEY: Final = re.compile(
    r"(?i)(?<!\S)(id|sub|dlvrd|submit[ _]?date|done[ _]?date|stat|err|text)\s*:\s*"
)
# Full words some SMSCs write instead of the 7-letter Appendix B ones.
_STAT_ALIASES: Final = {
    "DELIVERED": "DELIVRD",
    "UNDELIVERABLE": "UNDELIV",
    "UNDELIVERED": "UNDELIV",
    "REJECTED": "REJECTD",
    "ACCEPTED": "ACCEPTD",
    "SCHEDULED": "SCHEDLD",
}


def is_receipt(esm_class: int) -> bool:
    """esm_class marks an SMSC delivery receipt (or an intermediate notification)."""
    kind = esm_class & EsmClass.TYPE_MASK
    return kind in (EsmClass.TYPE_DELIVERY_RECEIPT, EsmClass.TYPE_INTERMEDIATE_NOTIFICATION)


def parse_receipt_pdu(pdu: ShortMessagePdu | DataSm) -> Receipt:
    """Parse the receipt in a deliver_sm or data_sm (text from message_payload or
    short_message, UCS-2 if data_coding says so)."""
    raw = pdu.tlvs.message_payload
    if raw is None:
        raw = pdu.short_message if isinstance(pdu, ShortMessagePdu) else b""
    if pdu.data_coding == DataCoding.UCS2:
        text = raw.decode("utf-16-be", errors="replace")
    else:
        text = raw.decode("latin-1")
    return parse_receipt(text, pdu.tlvs)


def parse_receipt(text: str, tlvs: Tlvs | None = None) -> Receipt:
    """A Receipt from Appendix B text and, when given, the receipt TLVs (which win)."""
    fields = _fields(text)
    raw_id = fields.get("id", "")
    state: int | None = None
    stat = fields.get("stat", "").upper()
    stat = _STAT_ALIASES.get(stat, stat)
    if stat in STATE_BY_STAT:
        state = STATE_BY_STAT[stat]
    network_error: tuple[int, int] | None = None
    if tlvs is not None:
        tlv_id = tlvs.receipted_message_id
        if tlv_id is not None and tlv_id.strip():
            raw_id = tlv_id
        tlv_state = tlvs.message_state
        if tlv_state is not None:
            state = tlv_state
            stat = STAT_BY_STATE.get(tlv_state, stat)
        network_error = tlvs.network_error_code
    message_id = normalize_message_id(raw_id)
    if not message_id:
        raise ReceiptError(f"receipt has no message id: {text[:80]!r}")
    err = fields.get("err", "")
    return Receipt(
        message_id=message_id,
        raw_message_id=raw_id.strip(),
        stat=stat,
        message_state=state,
        error_code=int(err) if err.isdigit() else None,
        err=err,
        submitted=_int(fields.get("sub")),
        delivered=_int(fields.get("dlvrd")),
        submit_date=_date(fields.get("submit date")),
        done_date=_date(fields.get("done date")),
        text=fields.get("text", ""),
        network_error_code=network_error,
    )


def _fields(text: str) -> dict[str, str]:
    """key -> value; keys lower case with one space ("submit date"). ``text`` runs to the end
    of the receipt, every other value is the first word after its key."""
    found: dict[str, str] = {}
    matches = list(_KEY.finditer(text))
    for i, match in enumerate(matches):
        key = re.sub(r"[ _]?date$", " date", match.group(1).lower())
        if key == "text":
            found.setdefault(key, text[match.end() :])
            break
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        words = text[match.end() : end].split()
        found.setdefault(key, words[0] if words else "")
    return found


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def _date(value: str | None) -> datetime | None:
    """YYMMDDhhmm or YYMMDDhhmmss, years 2000-2099; None when absent or not a date."""
    if value is None or not value.isdigit() or len(value) not in (10, 12):
        return None
    yy, mo, dd, hh, mi, ss = (int(value[i : i + 2] or 0) for i in range(0, 12, 2))
    try:
        return datetime(2000 + yy, mo, dd, hh, mi, ss)
    except ValueError:
        return None


# ICAO 9303 (Russian passports since 2013): the Latin letters a Cyrillic text is read in.
_CYRILLIC = {
    **dict(zip("абвгдеёзийклмнопрстуфыэ", "abvgdeeziiklmnoprstufye", strict=True)),
    **{"ж": "zh", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch"},
    **{"ъ": "ie", "ь": "", "ю": "iu", "я": "ia"},
}
_TRANSLIT = {
    **{ord(c): latin for c, latin in _CYRILLIC.items()},
    **{ord(c.upper()): latin.capitalize() for c, latin in _CYRILLIC.items()},
}


def ascii_text(text: str) -> str:
    """``text`` in ASCII for a receipt's text field: Cyrillic transliterated, anything
    else outside ASCII '?'."""
    return text.translate(_TRANSLIT).encode("ascii", errors="replace").decode("ascii")


def build_receipt(
    *,
    message_id: str,
    state: MessageState,
    submit_date: datetime,
    done_date: datetime,
    err: int = 0,
    submitted: int = 1,
    delivered: int | None = None,
    text: str = "",
    network_error_code: tuple[int, int] | None = None,
) -> tuple[bytes, Tlvs]:
    """(short_message, TLVs) of a receipt: Appendix B text and receipted_message_id +
    message_state (+ network_error_code). ``delivered`` defaults to ``submitted`` for
    DELIVERED and 0 otherwise; ``text``: its first 20 characters, Cyrillic transliterated
    (ICAO 9303, as on Russian passports) and what else is not ASCII replaced by '?', cut to
    20 again."""
    if delivered is None:
        delivered = submitted if state == MessageState.DELIVERED else 0
    body = (
        f"id:{message_id} sub:{submitted:03d} dlvrd:{delivered:03d}"
        f" submit date:{submit_date:%y%m%d%H%M} done date:{done_date:%y%m%d%H%M}"
        f" stat:{STAT_BY_STATE[state]} err:{err:03d} text:{ascii_text(text[:20])[:20]}"
    )
    tlvs = Tlvs()
    tlvs.receipted_message_id = message_id
    tlvs.message_state = state
    if network_error_code is not None:
        tlvs.network_error_code = network_error_code
    return body.encode("ascii", errors="replace"), tlvs


def build_receipt_pdu(
    *,
    source_addr: str,
    destination_addr: str,
    message_id: str,
    state: MessageState,
    submit_date: datetime,
    done_date: datetime,
    err: int = 0,
    submitted: int = 1,
    text: str = "",
    source_addr_ton: int = 0,
    source_addr_npi: int = 0,
    dest_addr_ton: int = 0,
    dest_addr_npi: int = 0,
) -> DeliverSm:
    """A deliver_sm receipt. Its source is the original message's destination (the handset)
    and its destination the original sender."""
    short_message, tlvs = build_receipt(
        message_id=message_id,
        state=state,
        submit_date=submit_date,
        done_date=done_date,
        err=err,
        submitted=submitted,
        text=text,
    )
    return DeliverSm(
        source_addr_ton=source_addr_ton,
        source_addr_npi=source_addr_npi,
        source_addr=source_addr,
        dest_addr_ton=dest_addr_ton,
        dest_addr_npi=dest_addr_npi,
        destination_addr=destination_addr,
        esm_class=EsmClass.TYPE_DELIVERY_RECEIPT,
        short_message=short_message,
        tlvs=tlvs,
    )
