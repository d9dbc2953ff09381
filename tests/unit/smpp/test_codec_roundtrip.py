"""Every PDU type survives encode -> decode unchanged, including error responses without body."""

from __future__ import annotations

import pytest

from rcs_smpp import pdu as p
from rcs_smpp.codec import decode, encode, frame_length
from rcs_smpp.constants import CommandStatus, RapportoTag, Tag
from rcs_smpp.tlv import Tlvs


def _tlvs(**kwargs: object) -> Tlvs:
    tlvs = Tlvs()
    for name, value in kwargs.items():
        setattr(tlvs, name, value)
    return tlvs


def _sample_pdus() -> list[p.Pdu]:
    ptag = Tlvs({RapportoTag.PTAG: b"order-42", RapportoTag.CASCADE_ORDER: b"V,S"})
    return [
        p.BindTransmitter(sequence_number=1, system_id="rcs", password="pw", system_type="X"),
        p.BindReceiver(sequence_number=2, system_id="rcs", password="pw", addr_ton=1, addr_npi=1),
        p.BindTransceiver(sequence_number=3, system_id="a" * 15, password="b" * 8),
        p.BindTransmitterResp(sequence_number=1, system_id="smsc"),
        p.BindReceiverResp(sequence_number=2, system_id="smsc"),
        p.BindTransceiverResp(
            sequence_number=3, system_id="smsc", tlvs=Tlvs({Tag.SC_INTERFACE_VERSION: b"\x34"})
        ),
        p.Outbind(sequence_number=4, system_id="smsc", password="pw"),
        p.Unbind(sequence_number=5),
        p.UnbindResp(sequence_number=5),
        p.EnquireLink(sequence_number=6),
        p.EnquireLinkResp(sequence_number=6),
        p.GenericNack(command_status=CommandStatus.ESME_RINVCMDID, sequence_number=7),
        p.SubmitSm(
            sequence_number=8,
            service_type="CMT",
            source_addr_ton=5,
            source_addr="RCS",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="79001234567",
            esm_class=0x40,
            protocol_id=0,
            priority_flag=2,
            schedule_delivery_time="240101120000000R",
            validity_period="000001000000000R",
            registered_delivery=1,
            data_coding=8,
            short_message=b"\x05\x00\x03\x2a\x02\x01" + "Привет".encode("utf-16-be"),
            tlvs=ptag,
        ),
        p.SubmitSm(
            sequence_number=9,
            destination_addr="79001234567",
            tlvs=_tlvs(
                message_payload=b"x" * 1000,
                sar_msg_ref_num=0xBEEF,
                sar_total_segments=3,
                sar_segment_seqnum=3,
                user_message_reference=77,
            ),
        ),
        p.SubmitSmResp(sequence_number=8, message_id="1a2b3c"),
        p.DeliverSm(
            sequence_number=10,
            source_addr="79001234567",
            destination_addr="RCS",
            esm_class=0x04,
            short_message=b"id:1 stat:DELIVRD",
            tlvs=_tlvs(
                receipted_message_id="1",
                message_state=2,
                network_error_code=(3, 0x0101),
            ),
        ),
        p.DeliverSmResp(sequence_number=10),
        p.DataSm(
            sequence_number=11,
            source_addr="a" * 64,
            destination_addr="b" * 64,
            esm_class=0x04,
            registered_delivery=1,
            data_coding=8,
            tlvs=_tlvs(message_payload=b"\x00h\x00i", receipted_message_id="ff"),
        ),
        p.DataSmResp(sequence_number=11, message_id="m-1"),
        p.QuerySm(sequence_number=12, message_id="1a2b", source_addr_ton=5, source_addr="RCS"),
        p.QuerySmResp(
            sequence_number=12,
            message_id="1a2b",
            final_date="240101120000000+",
            message_state=2,
            error_code=0,
        ),
    ]


@pytest.mark.parametrize("pdu", _sample_pdus(), ids=lambda pdu: type(pdu).__name__)
def test_every_pdu_type_round_trips(pdu: p.Pdu) -> None:
    frame = encode(pdu)

    assert frame_length(frame) == len(frame)
    assert int.from_bytes(frame[4:8], "big") == pdu.command_id
    assert decode(frame) == pdu
    assert encode(decode(frame)) == frame


def test_all_command_ids_of_the_brief_are_covered() -> None:
    covered = {type(pdu) for pdu in _sample_pdus()}
    assert set(p.RESPONSE_TYPES) | set(p.RESPONSE_TYPES.values()) | {p.GenericNack} <= covered


@pytest.mark.parametrize(
    "response_type", [p.SubmitSmResp, p.BindTransceiverResp, p.DataSmResp, p.QuerySmResp]
)
def test_error_response_with_default_body_is_a_bare_header(response_type: type[p.Pdu]) -> None:
    response = response_type(command_status=CommandStatus.ESME_RTHROTTLED, sequence_number=4)

    frame = encode(response)

    assert len(frame) == 16
    assert decode(frame) == response


def test_successful_response_keeps_its_body_even_when_empty() -> None:
    frame = encode(p.SubmitSmResp(sequence_number=1))

    assert len(frame) == 17  # message_id "" is one NUL


def test_deliver_sm_resp_without_body_decodes_even_when_successful() -> None:
    bare = (16).to_bytes(4, "big") + (0x80000005).to_bytes(4, "big") + bytes(4) + b"\0\0\0\x07"

    assert decode(bare) == p.DeliverSmResp(sequence_number=7)


def test_make_response_copies_the_sequence_number_and_picks_the_response_type() -> None:
    response = p.make_response(p.SubmitSm(sequence_number=99), CommandStatus.ESME_RSUBMITFAIL)

    assert response == p.SubmitSmResp(command_status=0x45, sequence_number=99)
    assert p.make_response(p.Outbind(sequence_number=3)) == p.GenericNack(sequence_number=3)


def test_unknown_tlvs_are_kept_in_order() -> None:
    tlvs = Tlvs({0x1411: b"a", 0x0005: b"\x01", 0x7777: b"", 0x1441: b"2401011200\0"})
    pdu = p.DeliverSm(sequence_number=1, tlvs=tlvs)

    decoded = decode(encode(pdu))

    assert isinstance(decoded, p.DeliverSm)
    assert list(decoded.tlvs.items()) == list(tlvs.items())


def test_tlv_accessors_read_what_they_wrote() -> None:
    tlvs = _tlvs(
        message_payload=b"hello",
        sar_msg_ref_num=513,
        sar_total_segments=4,
        sar_segment_seqnum=2,
        receipted_message_id="00AbC",
        message_state=5,
        network_error_code=(3, 517),
        user_message_reference=65535,
    )

    assert tlvs.message_payload == b"hello"
    assert (tlvs.sar_msg_ref_num, tlvs.sar_total_segments, tlvs.sar_segment_seqnum) == (513, 4, 2)
    assert tlvs.receipted_message_id == "00AbC"
    assert tlvs[Tag.RECEIPTED_MESSAGE_ID] == b"00AbC\0"
    assert tlvs.message_state == 5
    assert tlvs.network_error_code == (3, 517)
    assert tlvs.user_message_reference == 65535
    tlvs.message_payload = None
    assert tlvs.message_payload is None
    assert Tag.MESSAGE_PAYLOAD not in tlvs


def test_receipted_message_id_without_nul_is_accepted() -> None:
    assert Tlvs({Tag.RECEIPTED_MESSAGE_ID: b"12345"}).receipted_message_id == "12345"
