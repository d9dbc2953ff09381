"""Splitting into UDH-8 / UDH-16 / SAR parts at the right sizes, never inside a character."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rcs_smpp.encoding import Unit, encode_text
from rcs_smpp.segmentation import (
    Concatenation,
    Segment,
    SegmentationError,
    count_parts,
    part_size,
    split_payload,
    split_text,
)


def _payloads(segments: list[Segment]) -> list[bytes]:
    """Each part's payload without its UDH."""
    return [
        s.short_message[s.short_message[0] + 1 :] if s.esm_class & 0x40 else s.short_message
        for s in segments
    ]


@pytest.mark.parametrize(
    ("text", "parts", "sizes"),
    [
        ("a" * 160, 1, [160]),
        ("a" * 161, 2, [153, 8]),
        ("a" * 306, 2, [153, 153]),
        ("a" * 307, 3, [153, 153, 1]),
        ("ж" * 70, 1, [140]),
        ("ж" * 71, 2, [134, 8]),
        ("€" * 80, 1, [160]),
        ("€" * 81, 2, [152, 10]),
    ],
    ids=["160", "161", "306", "307", "ucs2-70", "ucs2-71", "euro-80", "euro-81"],
)
def test_part_counts_and_sizes_follow_the_sms_limits(
    text: str, parts: int, sizes: list[int]
) -> None:
    _, segments = split_text(text, reference=1)

    assert count_parts(text) == parts
    assert [len(p) for p in _payloads(segments)] == sizes


def test_single_sms_has_no_udh_and_no_tlvs() -> None:
    data_coding, segments = split_text("hello", reference=9)

    assert data_coding == 0
    assert segments == [Segment(b"hello")]


def test_udh8_header_is_six_octets_with_reference_total_and_seqnum() -> None:
    _, segments = split_text("a" * 200, reference=0x2A)

    assert [s.short_message[:6] for s in segments] == [
        bytes.fromhex("0500032a0201"),
        bytes.fromhex("0500032a0202"),
    ]
    assert all(s.esm_class == 0x40 and not s.tlvs for s in segments)


def test_udh16_header_is_seven_octets_and_parts_are_smaller() -> None:
    _, segments = split_text("a" * 200, reference=0xBEEF, method=Concatenation.UDH16)

    assert segments[0].short_message[:7] == bytes.fromhex("060804beef0201")
    assert [len(p) for p in _payloads(segments)] == [152, 48]
    assert part_size(Unit.OCTET, Concatenation.UDH16) == 133
    assert part_size(Unit.UCS2, Concatenation.UDH16) == 132


def test_sar_mode_puts_the_trio_in_tlvs_and_leaves_the_payload_bare() -> None:
    _, segments = split_text("a" * 200, reference=0x1234, method=Concatenation.SAR)

    assert [s.short_message for s in segments] == [b"a" * 153, b"a" * 47]
    assert [
        (s.tlvs.sar_msg_ref_num, s.tlvs.sar_total_segments, s.tlvs.sar_segment_seqnum)
        for s in segments
    ] == [(0x1234, 2, 1), (0x1234, 2, 2)]
    assert all(s.esm_class == 0 for s in segments)


def test_gsm_escape_is_never_separated_from_its_character() -> None:
    text = "a" * 152 + "€" + "b" * 10  # the escape would be septet 153, its code 154
    _, segments = split_text(text, reference=1)

    first, second = _payloads(segments)
    assert first == b"a" * 152
    assert second.startswith(b"\x1b\x65")


def test_runs_of_escapes_pair_up_from_the_part_start() -> None:
    text = "a" + "€" * 100  # odd offset: the 76th € straddles 153
    _, segments = split_text(text, reference=1)

    for payload in _payloads(segments):
        assert not (payload.count(b"\x1b") % 2 and payload.endswith(b"\x1b"))
    assert b"".join(_payloads(segments)) == encode_text(text)[1]


def test_surrogate_pair_is_never_split() -> None:
    text = "ж" * 66 + "😀" + "ж" * 10  # the pair would occupy units 67 and 68
    _, segments = split_text(text, reference=1)

    first, second = _payloads(segments)
    assert len(first) == 132
    assert second.startswith("😀".encode("utf-16-be"))


def test_binary_payload_uses_octet_limits() -> None:
    assert len(split_payload(4, bytes(140), reference=1)) == 1
    segments = split_payload(4, bytes(141), reference=1)
    assert [len(p) for p in _payloads(segments)] == [134, 7]


def test_count_parts_may_exceed_what_split_allows() -> None:
    text = "a" * 153 * 256
    assert count_parts(text) == 256
    with pytest.raises(SegmentationError):
        split_text(text, reference=1)


@pytest.mark.parametrize(
    ("method", "reference"),
    [(Concatenation.UDH8, 256), (Concatenation.UDH16, 65536), (Concatenation.SAR, -1)],
)
def test_reference_outside_its_width_is_refused(method: Concatenation, reference: int) -> None:
    with pytest.raises(SegmentationError):
        split_text("x", reference=reference, method=method)


def test_odd_length_ucs2_payload_is_refused() -> None:
    with pytest.raises(SegmentationError):
        split_payload(8, b"\x00a\x00", reference=1)


@settings(max_examples=200, database=None, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("ab€{жя😀 "), max_size=700),
    st.sampled_from(list(Concatenation)),
)
def test_parts_rejoin_to_the_payload_and_respect_their_size(
    text: str, method: Concatenation
) -> None:
    data_coding, payload = encode_text(text)
    segments = split_payload(data_coding, payload, reference=7, method=method)
    parts = _payloads(segments)

    assert b"".join(parts) == payload
    unit = Unit.SEPTET if data_coding == 0 else Unit.UCS2
    if len(parts) > 1:
        assert all(len(p) <= part_size(unit, method) for p in parts)
        assert all(len(s.short_message) <= 140 or unit is Unit.SEPTET for s in segments)
