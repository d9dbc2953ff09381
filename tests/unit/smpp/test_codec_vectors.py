"""Known byte vectors, written by hand from the SMPP 3.4 layouts and cross-checked against
smpplib in both directions (it encodes, we decode; we encode, it decodes)."""

from __future__ import annotations

from typing import Any

import smpplib.smpp

from rcs_smpp import pdu as p
from rcs_smpp.codec import decode, encode
from rcs_smpp.tlv import Tlvs

# bind_transceiver: system_id "SMPP3TEST", password "secret08", system_type "SUBMIT1",
# interface_version 0x34, addr_ton 1, addr_npi 1, address_range "", sequence 1.
BIND_TRANSCEIVER = bytes.fromhex(
    "0000002f"  # command_length 47
    "00000009"  # bind_transceiver
    "00000000"  # command_status
    "00000001"  # sequence_number
    "534d50503354455354 00"  # system_id
    "7365637265743038 00"  # password
    "5355424d495431 00"  # system_type
    "34 01 01"  # interface_version, addr_ton, addr_npi
    "00"  # address_range
)

# submit_sm RCS -> 79001234567, UDHI, UCS-2, one part of two ("Hi"), registered delivery,
# plus user_message_reference 0x0204 = 7.
SUBMIT_SM = bytes.fromhex(
    "0000003f 00000004 00000000 00000007"  # 63 octets
    "00"  # service_type
    "05 00 52435300"  # source ton 5 (alphanumeric), npi 0, "RCS"
    "01 01 3739303031323334353637 00"  # destination ton 1, npi 1, "79001234567"
    "40 00 00"  # esm_class UDHI, protocol_id, priority_flag
    "00 00"  # schedule_delivery_time, validity_period (empty)
    "01 00 08 00"  # registered_delivery, replace_if_present, data_coding UCS-2, default msg id
    "0a 0500032a0201 00480069"  # sm_length 10: UDH (ref 0x2a, 2 parts, #1) + "Hi"
    "0204 0002 0007"  # user_message_reference
)

RECEIPT_TEXT = (
    b"id:1a2b sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 "
    b"stat:DELIVRD err:000 text:Hi"
)
# deliver_sm receipt 79001234567 -> RCS, esm_class 0x04, with receipted_message_id "1a2b"
# and message_state 2 (DELIVERED).
DELIVER_SM_RECEIPT = (
    bytes.fromhex(
        "0000009f 00000005 00000000 00000009"
        "00"
        "00 00 3739303031323334353637 00"
        "00 00 52435300"
        "04 00 00"
        "00 00"
        "00 00 00 00"
        "62"  # sm_length 98
    )
    + RECEIPT_TEXT
    + bytes.fromhex("001e 0005 3161326200 0427 0001 02")
)


def _smpplib(command: str, sequence: int, **fields: Any) -> Any:
    # smpplib takes sequence numbers from a client object; set ours after construction.
    pdu = smpplib.smpp.make_pdu(command, sequence=sequence, **fields)
    pdu.sequence = sequence
    return pdu


def _smpplib_parse(frame: bytes) -> Any:
    return smpplib.smpp.parse_pdu(frame, client=None, sequence=0)


def _receipt_tlvs() -> Tlvs:
    tlvs = Tlvs()
    tlvs.receipted_message_id = "1a2b"
    tlvs.message_state = 2
    return tlvs


def test_bind_transceiver_matches_the_hand_built_vector() -> None:
    ours = p.BindTransceiver(
        sequence_number=1,
        system_id="SMPP3TEST",
        password="secret08",
        system_type="SUBMIT1",
        addr_ton=1,
        addr_npi=1,
    )

    assert encode(ours) == BIND_TRANSCEIVER
    assert decode(BIND_TRANSCEIVER) == ours


def test_bind_transceiver_interoperates_with_smpplib() -> None:
    theirs = _smpplib(
        "bind_transceiver",
        1,
        system_id="SMPP3TEST",
        password="secret08",
        system_type="SUBMIT1",
        interface_version=0x34,
        addr_ton=1,
        addr_npi=1,
    )

    assert theirs.generate() == BIND_TRANSCEIVER
    parsed = _smpplib_parse(BIND_TRANSCEIVER)
    assert (parsed.system_id, parsed.password, parsed.system_type) == (
        b"SMPP3TEST",
        b"secret08",
        b"SUBMIT1",
    )


def _submit_sm() -> p.SubmitSm:
    tlvs = Tlvs()
    tlvs.user_message_reference = 7
    return p.SubmitSm(
        sequence_number=7,
        source_addr_ton=5,
        source_addr="RCS",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="79001234567",
        esm_class=0x40,
        registered_delivery=1,
        data_coding=8,
        short_message=bytes.fromhex("0500032a0201") + "Hi".encode("utf-16-be"),
        tlvs=tlvs,
    )


def test_submit_sm_matches_the_hand_built_vector() -> None:
    assert encode(_submit_sm()) == SUBMIT_SM
    assert decode(SUBMIT_SM) == _submit_sm()


def test_submit_sm_interoperates_with_smpplib() -> None:
    theirs = _smpplib(
        "submit_sm",
        7,
        source_addr_ton=5,
        source_addr="RCS",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="79001234567",
        esm_class=0x40,
        registered_delivery=1,
        data_coding=8,
        short_message=bytes.fromhex("0500032a0201") + "Hi".encode("utf-16-be"),
        user_message_reference=7,
    )

    assert theirs.generate() == SUBMIT_SM
    parsed = _smpplib_parse(encode(_submit_sm()))
    assert parsed.destination_addr == b"79001234567"
    assert parsed.short_message == _submit_sm().short_message
    assert parsed.user_message_reference == 7


def test_deliver_sm_receipt_matches_the_hand_built_vector() -> None:
    ours = p.DeliverSm(
        sequence_number=9,
        source_addr="79001234567",
        destination_addr="RCS",
        esm_class=0x04,
        short_message=RECEIPT_TEXT,
        tlvs=_receipt_tlvs(),
    )

    assert encode(ours) == DELIVER_SM_RECEIPT
    assert decode(DELIVER_SM_RECEIPT) == ours


def test_deliver_sm_receipt_from_smpplib_decodes_with_its_tlvs() -> None:
    theirs = _smpplib(
        "deliver_sm",
        9,
        source_addr="79001234567",
        destination_addr="RCS",
        esm_class=0x04,
        short_message=RECEIPT_TEXT,
        receipted_message_id="1a2b",
        message_state=2,
    )

    decoded = decode(theirs.generate())

    assert isinstance(decoded, p.DeliverSm)
    assert decoded.short_message == RECEIPT_TEXT
    assert decoded.tlvs.receipted_message_id == "1a2b"
    assert decoded.tlvs.message_state == 2


def test_deliver_sm_receipt_we_encode_is_read_by_smpplib() -> None:
    parsed = _smpplib_parse(DELIVER_SM_RECEIPT)

    assert parsed.short_message == RECEIPT_TEXT
    assert parsed.receipted_message_id == b"1a2b"
    assert parsed.message_state == 2


def test_submit_sm_resp_and_enquire_link_match_smpplib() -> None:
    resp = _smpplib("submit_sm_resp", 7, message_id="0A1B")
    assert decode(resp.generate()) == p.SubmitSmResp(sequence_number=7, message_id="0A1B")
    link = _smpplib("enquire_link", 3)
    assert encode(p.EnquireLink(sequence_number=3)) == link.generate()
