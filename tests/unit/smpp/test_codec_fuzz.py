"""Fuzzing ``decode``: whatever the bytes, it returns a PDU or raises PduDecodeError, and any
PDU it returns encodes back to something that decodes to the same PDU."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rcs_smpp import pdu as p
from rcs_smpp.codec import decode, encode
from rcs_smpp.constants import CommandId, Tag
from rcs_smpp.errors import PduDecodeError
from rcs_smpp.tlv import Tlvs

_COMMAND_IDS = [int(c) for c in CommandId] + [0x7FFFFFFF]
_KNOWN_TAGS = [int(t) for t in Tag] + [0x1411, 0x1441, 0xFFFF]

# A header that frames the body correctly, so the fuzzer spends its time in the body decoders.
framed_pdus = st.builds(
    lambda command_id, status, sequence, body: (
        struct.pack(">IIII", 16 + len(body), command_id, status, sequence) + body
    ),
    st.sampled_from(_COMMAND_IDS),
    st.sampled_from([0, 0, 0, 8, 0x58]),
    st.integers(0, 2**32 - 1),
    st.binary(max_size=300),
)
tlv_streams = st.lists(
    st.tuples(st.sampled_from(_KNOWN_TAGS), st.binary(max_size=8)), max_size=6
).map(lambda tlvs: b"".join(struct.pack(">HH", tag, len(v)) + v for tag, v in tlvs))
submit_like = st.builds(
    lambda command_id, strings, ints, message, tlvs: _frame(
        command_id,
        strings[0]
        + b"\0"
        + ints[:2]
        + strings[1]
        + b"\0"
        + ints[2:4]
        + strings[2]
        + b"\0"
        + ints[4:7]
        + b"\0\0"
        + ints[7:11]
        + bytes([len(message)])
        + message
        + tlvs,
    ),
    st.sampled_from([4, 5]),
    st.tuples(*(st.binary(max_size=22).filter(lambda b: b"\0" not in b) for _ in range(3))),
    st.binary(min_size=11, max_size=11),
    st.binary(max_size=160),
    tlv_streams,
)


def _frame(command_id: int, body: bytes) -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, 0, 1) + body


def _check(frame: bytes) -> None:
    try:
        pdu = decode(frame)
    except PduDecodeError:
        return
    assert decode(encode(pdu)) == pdu


_FAST = settings(max_examples=300, database=None, deadline=None)


@_FAST
@given(st.binary(max_size=400))
def test_decode_of_random_bytes_raises_only_decode_errors(frame: bytes) -> None:
    _check(frame)


@_FAST
@given(framed_pdus)
def test_decode_of_random_bodies_raises_only_decode_errors(frame: bytes) -> None:
    _check(frame)


@_FAST
@given(submit_like)
def test_decode_of_near_valid_submit_sm_raises_only_decode_errors(frame: bytes) -> None:
    _check(frame)


addresses = st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=20)
octet = st.integers(0, 255)


@_FAST
@given(
    st.builds(
        p.SubmitSm,
        sequence_number=st.integers(1, 0x7FFFFFFF),
        service_type=st.text(st.characters(min_codepoint=1, max_codepoint=127), max_size=5),
        source_addr_ton=octet,
        source_addr=addresses,
        destination_addr=addresses,
        esm_class=octet,
        data_coding=octet,
        registered_delivery=octet,
        short_message=st.binary(max_size=254),
        tlvs=st.dictionaries(st.integers(0x1400, 0x14FF), st.binary(max_size=50)).map(Tlvs),
    )
)
def test_any_valid_submit_sm_round_trips(pdu: p.SubmitSm) -> None:
    assert decode(encode(pdu)) == pdu


@pytest.mark.slow
@pytest.mark.timeout(1800)  # ~5 minutes on a quiet 2-core machine; the suite default is 300 s
@settings(
    max_examples=100_000,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(st.one_of(st.binary(max_size=400), framed_pdus, submit_like))
def test_decode_survives_100k_random_frames(frame: bytes) -> None:
    _check(frame)
