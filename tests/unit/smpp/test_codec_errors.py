"""Decoding errors carry the command_status to answer with (and the header when readable);
encoding refuses values the spec does not allow."""

from __future__ import annotations

import struct

import pytest

from rcs_smpp import pdu as p
from rcs_smpp.codec import decode, encode, frame_length
from rcs_smpp.constants import CommandStatus as S
from rcs_smpp.constants import Tag
from rcs_smpp.errors import FramingError, PduDecodeError, PduEncodeError
from rcs_smpp.tlv import Tlvs


def _frame(command_id: int, body: bytes, sequence: int = 42) -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, 0, sequence) + body


def _submit_body(
    service_type: bytes = b"\0",
    source: bytes = b"RCS\0",
    destination: bytes = b"79001234567\0",
    schedule: bytes = b"\0",
    validity: bytes = b"\0",
    short_message: bytes = b"\x02hi",
    tlvs: bytes = b"",
) -> bytes:
    return (
        service_type
        + b"\x05\x00"
        + source
        + b"\x01\x01"
        + destination
        + b"\x00\x00\x00"
        + schedule
        + validity
        + b"\x01\x00\x00\x00"
        + short_message
        + tlvs
    )


def _decode_error(frame: bytes) -> PduDecodeError:
    with pytest.raises(PduDecodeError) as caught:
        decode(frame)
    return caught.value


def _tlv(tag: int, value: bytes) -> bytes:
    return struct.pack(">HH", tag, len(value)) + value


def test_valid_submit_body_helper_decodes() -> None:
    pdu = decode(_frame(4, _submit_body()))
    assert isinstance(pdu, p.SubmitSm)
    assert pdu.short_message == b"hi"


@pytest.mark.parametrize("size", [0, 3, 15])
def test_frames_shorter_than_a_header_are_framing_errors(size: int) -> None:
    with pytest.raises(FramingError) as caught:
        decode(b"\0" * size)
    assert caught.value.status == S.ESME_RINVCMDLEN


def test_frame_length_refuses_lengths_below_16_and_above_the_maximum() -> None:
    assert frame_length(struct.pack(">I", 16)) == 16
    for length in (0, 15, 65537):
        with pytest.raises(FramingError):
            frame_length(struct.pack(">I", length))
    assert frame_length(struct.pack(">I", 100_000), max_length=200_000) == 100_000
    with pytest.raises(FramingError):
        frame_length(b"\0\0")


def test_command_length_disagreeing_with_the_frame_is_rinvcmdlen_with_header() -> None:
    frame = _frame(4, _submit_body())
    error = _decode_error(frame + b"\0")

    assert error.status == S.ESME_RINVCMDLEN
    assert (error.command_id, error.sequence_number) == (4, 42)


@pytest.mark.parametrize("command_id", [0x00000007, 0x00000021, 0x00000102, 0x12345678])
def test_unknown_or_unsupported_command_id_is_rinvcmdid(command_id: int) -> None:
    error = _decode_error(_frame(command_id, b""))

    assert error.status == S.ESME_RINVCMDID
    assert (error.command_id, error.sequence_number) == (command_id, 42)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (_submit_body(service_type=b"ABCDEF\0"), S.ESME_RINVSERTYP),
        (_submit_body(source=b"1" * 21 + b"\0"), S.ESME_RINVSRCADR),
        (_submit_body(destination=b"7" * 21 + b"\0"), S.ESME_RINVDSTADR),
        (_submit_body(schedule=b"2401011200\0"), S.ESME_RINVSCHED),
        (_submit_body(validity=b"1" * 17 + b"\0"), S.ESME_RINVEXPIRY),
        (_submit_body(short_message=b"\x05hi"), S.ESME_RINVMSGLEN),
        (_submit_body(short_message=b"\xff" + b"x" * 255), S.ESME_RINVMSGLEN),
    ],
    ids=["service_type", "source", "destination", "schedule", "validity", "sm_length", "255"],
)
def test_submit_sm_field_errors_name_their_status(body: bytes, status: int) -> None:
    error = _decode_error(_frame(4, body))

    assert error.status == status
    assert error.sequence_number == 42


def test_longest_allowed_addresses_decode() -> None:
    body = _submit_body(source=b"1" * 20 + b"\0", destination=b"7" * 20 + b"\0")
    pdu = decode(_frame(4, body))
    assert isinstance(pdu, p.SubmitSm)
    assert pdu.source_addr == "1" * 20


def test_missing_nul_terminator_at_the_end_of_the_body_is_an_error() -> None:
    error = _decode_error(_frame(0x80000004, b"12345"))
    assert error.status == S.ESME_RINVMSGID


def test_bind_field_errors_name_their_status() -> None:
    too_long_id = b"x" * 16 + b"\0" + b"pw\0\0\x34\x00\x00\0"
    too_long_password = b"rcs\0" + b"p" * 9 + b"\0\0\x34\x00\x00\0"

    assert _decode_error(_frame(9, too_long_id)).status == S.ESME_RINVSYSID
    assert _decode_error(_frame(9, too_long_password)).status == S.ESME_RINVPASWD


def test_truncated_mandatory_integers_are_rinvcmdlen() -> None:
    assert _decode_error(_frame(9, b"rcs\0pw\0\0\x34")).status == S.ESME_RINVCMDLEN
    assert _decode_error(_frame(4, _submit_body()[:-4])).status == S.ESME_RINVCMDLEN


def test_trailing_octets_on_a_pdu_without_tlvs_are_roptparnotallwd() -> None:
    assert _decode_error(_frame(0x15, b"\0")).status == S.ESME_ROPTPARNOTALLWD
    assert _decode_error(_frame(9, b"rcs\0pw\0\0\x34\x00\x00\0X")).status == (
        S.ESME_ROPTPARNOTALLWD
    )


@pytest.mark.parametrize(
    ("tlvs", "status"),
    [
        (b"\x02\x04\x00", S.ESME_RINVOPTPARSTREAM),  # truncated TLV header
        (b"\x04\x24\x00\x10abc", S.ESME_RINVOPTPARSTREAM),  # value overruns the PDU
        (_tlv(0x1411, b"a") + _tlv(0x1411, b"b"), S.ESME_RINVOPTPARSTREAM),  # repeated tag
        (_tlv(Tag.SAR_MSG_REF_NUM, b"\x01"), S.ESME_RINVPARLEN),
        (_tlv(Tag.MESSAGE_STATE, b"\x01\x02"), S.ESME_RINVPARLEN),
        (_tlv(Tag.RECEIPTED_MESSAGE_ID, b""), S.ESME_RINVPARLEN),
        (_tlv(Tag.RECEIPTED_MESSAGE_ID, b"1" * 66), S.ESME_RINVPARLEN),
        (
            _tlv(Tag.SAR_MSG_REF_NUM, b"\0\1") + _tlv(Tag.SAR_TOTAL_SEGMENTS, b"\2"),
            S.ESME_RMISSINGOPTPARAM,
        ),
        (
            _tlv(Tag.SAR_MSG_REF_NUM, b"\0\1")
            + _tlv(Tag.SAR_TOTAL_SEGMENTS, b"\2")
            + _tlv(Tag.SAR_SEGMENT_SEQNUM, b"\3"),
            S.ESME_RINVOPTPARAMVAL,
        ),
        (
            _tlv(Tag.SAR_MSG_REF_NUM, b"\0\1")
            + _tlv(Tag.SAR_TOTAL_SEGMENTS, b"\0")
            + _tlv(Tag.SAR_SEGMENT_SEQNUM, b"\0"),
            S.ESME_RINVOPTPARAMVAL,
        ),
        (_tlv(Tag.MESSAGE_STATE, b"\x0a"), S.ESME_RINVOPTPARAMVAL),
    ],
    ids=[
        "truncated-header",
        "overrun",
        "repeated",
        "sar-ref-size",
        "state-size",
        "receipted-id-empty",
        "receipted-id-long",
        "sar-incomplete",
        "sar-seqnum-beyond-total",
        "sar-zero",
        "state-unknown",
    ],
)
def test_tlv_problems_map_to_c0_to_c4(tlvs: bytes, status: int) -> None:
    error = _decode_error(_frame(4, _submit_body(tlvs=tlvs)))

    assert error.status == status
    assert (error.command_id, error.sequence_number) == (4, 42)


def test_generic_decoder_reports_tlv_errors_too() -> None:
    body = b"1a2b\0" + _tlv(Tag.MESSAGE_STATE, b"\x01\x02")
    assert _decode_error(_frame(0x80000103, body)).status == S.ESME_RINVPARLEN


@pytest.mark.parametrize(
    "pdu",
    [
        p.BindTransmitter(system_id="x" * 16),
        p.BindTransmitter(password="y" * 9),
        p.SubmitSm(source_addr="1" * 21),
        p.SubmitSm(destination_addr="a\0b"),
        p.SubmitSm(schedule_delivery_time="2401011200"),
        p.SubmitSm(short_message=b"x" * 255),
        p.SubmitSm(esm_class=256),
        p.SubmitSm(source_addr="Привет"),
        p.SubmitSm(sequence_number=2**32),
        p.DeliverSm(tlvs=Tlvs({Tag.SAR_TOTAL_SEGMENTS: b"\1"})),
        p.DeliverSm(tlvs=Tlvs({Tag.MESSAGE_STATE: b"\1\1"})),
        p.DeliverSm(tlvs=Tlvs({0x1411: b"x" * 65536})),
        p.QuerySmResp(final_date="1"),
        p.DataSm(source_addr="1" * 65),
    ],
    ids=lambda pdu: type(pdu).__name__,
)
def test_encode_refuses_values_outside_the_spec(pdu: p.Pdu) -> None:
    with pytest.raises(PduEncodeError):
        encode(pdu)


def test_encode_refuses_a_pdu_type_without_a_layout() -> None:
    with pytest.raises(PduEncodeError):
        encode(p.Pdu())
