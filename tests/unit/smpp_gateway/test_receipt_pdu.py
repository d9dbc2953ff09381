"""The deliver_sm receipt of a status report, field by field (SMPP_API.txt section 10)."""

from __future__ import annotations

import datetime as dt

from google.protobuf import timestamp_pb2

from gateways.smpp.mapping import receipt_of
from rcs.common.v1 import channel_pb2, status_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs_smpp.codec import decode, encode
from rcs_smpp.constants import EsmClass, MessageState, RapportoTag
from rcs_smpp.pdu import DeliverSm
from rcs_smpp.receipts import parse_receipt_pdu


def ts(value: dt.datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(value)
    return out


def report(**kw: object) -> ms.Report:
    fields: dict[str, object] = {
        "report_id": 1,
        "kind": ms.REPORT_KIND_STATUS,
        "message_id": "1234567890",
        "destination": "79161234567",
        "sender": "ACME",
        "text": "Ваш код 1234, никому не говорите",
        "part_count": 2,
        "status": status_pb2.MESSAGE_STATUS_UNDELIVERED,
        "error_code": 8,
        "submit_time": ts(dt.datetime(2026, 11, 27, 9, 15, 42, tzinfo=dt.UTC)),
        "done_time": ts(dt.datetime(2026, 11, 27, 9, 17, 3, tzinfo=dt.UTC)),
        "channel": channel_pb2.CHANNEL_SMS,
    }
    fields.update(kw)
    return ms.Report(**fields)  # type: ignore[arg-type]


def roundtrip(pdu: DeliverSm) -> DeliverSm:
    decoded = decode(encode(pdu))
    assert isinstance(decoded, DeliverSm)
    return decoded


def test_undelivered_receipt_carries_the_extended_code_and_rapportos_tlvs() -> None:
    pdu = roundtrip(receipt_of(report(ptag="order-42")))
    assert pdu.esm_class == EsmClass.TYPE_DELIVERY_RECEIPT == 0x04
    assert (pdu.source_addr, pdu.source_addr_ton) == ("ACME", 5)
    assert (pdu.destination_addr, pdu.dest_addr_ton, pdu.dest_addr_npi) == ("79161234567", 1, 1)
    assert pdu.short_message == (
        b"id:1234567890 sub:002 dlvrd:000 submit date:2611270915 done date:2611270917"
        b" stat:UNDELIV err:008 text:Vash kod 1234, nikom"
    )
    assert pdu.tlvs.receipted_message_id == "1234567890"
    assert pdu.tlvs.message_state == MessageState.UNDELIVERABLE
    assert pdu.tlvs.get_cstring(RapportoTag.MESSAGE_TYPE) == "SMS"
    assert pdu.tlvs.get(RapportoTag.MESSAGE_TYPE) == b"SMS\0"
    assert pdu.tlvs.get_cstring(RapportoTag.PTAG) == "order-42"
    assert RapportoTag.SEEN_DATE not in pdu.tlvs
    parsed = parse_receipt_pdu(pdu)  # our own operator-side parser reads it back
    assert (parsed.message_id, parsed.stat, parsed.error_code) == ("1234567890", "UNDELIV", 8)


def test_delivered_read_expired_and_rejected_states() -> None:
    delivered = roundtrip(receipt_of(report(status=status_pb2.MESSAGE_STATUS_DELIVERED)))
    assert b"dlvrd:002" in delivered.short_message
    assert b"stat:DELIVRD err:000" in delivered.short_message
    assert RapportoTag.PTAG not in delivered.tlvs
    read = roundtrip(receipt_of(report(status=status_pb2.MESSAGE_STATUS_READ)))
    assert b"stat:DELIVRD" in read.short_message
    assert read.tlvs.get_cstring(RapportoTag.SEEN_DATE) == "2611270917"
    expired = roundtrip(receipt_of(report(status=status_pb2.MESSAGE_STATUS_EXPIRED)))
    assert expired.tlvs.message_state == MessageState.EXPIRED
    assert b"stat:EXPIRED err:008" in expired.short_message
    rejected = roundtrip(
        receipt_of(report(status=status_pb2.MESSAGE_STATUS_REJECTED, error_code=10))
    )
    assert b"stat:REJECTD err:010" in rejected.short_message


def test_numeric_sender_is_an_international_number() -> None:
    pdu = receipt_of(report(sender="79001234567"))
    assert (pdu.source_addr_ton, pdu.source_addr_npi) == (1, 1)
