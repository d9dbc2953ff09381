"""Joining UDH-8, UDH-16 and SAR parts in any order; message_payload is whole by itself."""

from __future__ import annotations

import pytest

from rcs_smpp.encoding import decode_text
from rcs_smpp.pdu import DataSm, DeliverSm
from rcs_smpp.reassembly import Reassembler, UserDataError, parse_user_data
from rcs_smpp.segmentation import Concatenation, split_text
from rcs_smpp.tlv import Tlvs

TEXT = "Привет! " * 30  # 240 UCS-2 characters: 4 parts


def _parts(method: Concatenation, reference: int = 0x42, text: str = TEXT) -> list[DeliverSm]:
    data_coding, segments = split_text(text, reference=reference, method=method)
    return [
        DeliverSm(
            source_addr="79001234567",
            destination_addr="RCS",
            esm_class=s.esm_class,
            data_coding=data_coding,
            short_message=s.short_message,
            tlvs=s.tlvs,
        )
        for s in segments
    ]


@pytest.mark.parametrize("method", list(Concatenation))
def test_parts_out_of_order_reassemble_into_the_message(method: Concatenation) -> None:
    parts = _parts(method)
    assert len(parts) == 4
    reassembler = Reassembler()

    results = [reassembler.add(parts[i], now=float(i)) for i in (2, 0, 3, 1)]

    assert results[:3] == [None, None, None]
    message = results[3]
    assert message is not None
    assert decode_text(message.data_coding, message.payload) == TEXT
    assert message.pdus == tuple(parts)
    assert (message.source_addr, message.destination_addr) == ("79001234567", "RCS")
    assert reassembler.pending == 0


def test_duplicate_parts_are_ignored() -> None:
    parts = _parts(Concatenation.UDH8)
    reassembler = Reassembler()

    for part in (parts[0], parts[0], parts[1], parts[1], parts[2]):
        assert reassembler.add(part, now=0) is None
    message = reassembler.add(parts[3], now=0)

    assert message is not None
    assert decode_text(message.data_coding, message.payload) == TEXT


def test_same_reference_from_different_senders_does_not_mix() -> None:
    ours = _parts(Concatenation.UDH8, text="a" * 200)
    theirs = _parts(Concatenation.UDH8, text="b" * 200)
    for part in theirs:
        part.source_addr = "79990000000"
    reassembler = Reassembler()

    assert reassembler.add(ours[0], now=0) is None
    assert reassembler.add(theirs[1], now=0) is None
    message = reassembler.add(ours[1], now=0)

    assert message is not None
    assert message.payload == b"a" * 200
    assert reassembler.pending == 1


def test_message_payload_is_a_complete_message_by_itself() -> None:
    tlvs = Tlvs()
    tlvs.message_payload = b"x" * 1000
    pdu = DeliverSm(source_addr="1", destination_addr="2", data_coding=4, tlvs=tlvs)

    message = Reassembler().add(pdu, now=0)

    assert message is not None
    assert message.payload == b"x" * 1000


def test_data_sm_with_message_payload_is_accepted() -> None:
    tlvs = Tlvs()
    tlvs.message_payload = b"hi"
    message = Reassembler().add(DataSm(source_addr="1", destination_addr="2", tlvs=tlvs), now=0)

    assert message is not None
    assert message.payload == b"hi"


def test_unsplit_message_completes_at_once_and_a_one_part_set_too() -> None:
    reassembler = Reassembler()
    plain = DeliverSm(short_message=b"hello")
    one_of_one = DeliverSm(esm_class=0x40, short_message=bytes.fromhex("050003070101") + b"hi")

    first = reassembler.add(plain, now=0)
    second = reassembler.add(one_of_one, now=0)
    assert first is not None
    assert second is not None
    assert (first.payload, second.payload) == (b"hello", b"hi")


def test_incomplete_sets_expire_after_the_timeout() -> None:
    parts = _parts(Concatenation.UDH16)
    reassembler = Reassembler(timeout=60)
    reassembler.add(parts[0], now=100)
    reassembler.add(parts[1], now=150)

    assert reassembler.expire(now=159.9) == []
    expired = reassembler.expire(now=160)

    assert len(expired) == 1
    assert (expired[0].reference, expired[0].total, sorted(expired[0].parts)) == (0x42, 4, [1, 2])
    assert reassembler.pending == 0
    assert reassembler.add(parts[2], now=161) is None  # a late part starts a new set


def test_oldest_set_is_evicted_beyond_max_pending_and_reported_by_expire() -> None:
    reassembler = Reassembler(max_pending=2)
    for reference in (1, 2, 3):
        reassembler.add(_parts(Concatenation.UDH8, reference, "a" * 200)[0], now=reference)

    assert reassembler.pending == 2
    assert [e.reference for e in reassembler.expire(now=3)] == [1]


def test_udh_without_concatenation_is_stripped_from_a_whole_message() -> None:
    port_udh = bytes.fromhex("0605040b8423f0")  # application port addressing only
    user_data = parse_user_data(DeliverSm(esm_class=0x40, short_message=port_udh + b"wap"))

    assert (user_data.udh, user_data.payload, user_data.part) == (port_udh, b"wap", None)


@pytest.mark.parametrize(
    "short_message",
    [b"", b"\x05\x00\x03", bytes.fromhex("0500050a0201"), bytes.fromhex("0500030a0203")],
    ids=["empty", "udh-overruns", "ie-overruns", "seqnum-beyond-total"],
)
def test_malformed_udh_is_a_typed_error(short_message: bytes) -> None:
    with pytest.raises(UserDataError):
        Reassembler().add(DeliverSm(esm_class=0x40, short_message=short_message), now=0)
