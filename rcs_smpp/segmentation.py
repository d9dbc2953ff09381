"""Splitting a long message into concatenated parts.

Sizes follow from the 140-octet user data of one SMS: 160/153 septets (GSM, one per octet in
SMPP), 140/134 octets (8-bit), 70/67 UCS-2 units, with a 6-octet UDH (8-bit reference, IEI
0x00). A 7-octet UDH (16-bit reference, IEI 0x08) leaves 152 septets, 133 octets, 66 units.
With SAR TLVs the SMSC builds the UDH itself, so parts keep the 8-bit-UDH sizes.

A cut never separates a GSM escape (0x1B) from the character it introduces, nor the two
halves of a UTF-16 surrogate pair: either would turn into garbage on the handset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Final

from rcs_smpp.constants import EsmClass
from rcs_smpp.encoding import DefaultAlphabet, Unit, encode_text, unit_of
from rcs_smpp.errors import SmppError
from rcs_smpp.gsm import ESCAPE
from rcs_smpp.tlv import Tlvs


class SegmentationError(SmppError, ValueError):
    """The message cannot be split (more than 255 parts, odd UCS-2, bad reference)."""


class Concatenation(Enum):
    UDH8 = "udh8"  # IEI 0x00, 8-bit reference
    UDH16 = "udh16"  # IEI 0x08, 16-bit reference
    SAR = "sar"  # sar_msg_ref_num / sar_total_segments / sar_segment_seqnum TLVs


@dataclass(frozen=True, slots=True)
class Segment:
    """One submit_sm worth of a message: put ``short_message`` in the PDU, OR ``esm_class``
    into its esm_class and add ``tlvs`` to its TLVs."""

    short_message: bytes
    esm_class: int = 0
    tlvs: Tlvs = field(default_factory=Tlvs)


MAX_PARTS: Final = 255
USER_DATA_OCTETS: Final = 140  # what one SMS carries, header included


def fits_with_own_header(octets: bytes) -> bool:
    """Whether binary octets that begin with their own user data header (length octet
    first, esm_class UDHI) make one SMS with data after the header."""
    return 0 < len(octets) <= USER_DATA_OCTETS and octets[0] + 1 < len(octets)


_SINGLE: Final = {Unit.SEPTET: 160, Unit.OCTET: 140, Unit.UCS2: 140}  # octets of payload
_UDH_SIZE: Final = {Concatenation.UDH8: 6, Concatenation.UDH16: 7, Concatenation.SAR: 6}


def part_size(unit: Unit, method: Concatenation) -> int:
    """Payload octets per part of a concatenated message."""
    room = USER_DATA_OCTETS - _UDH_SIZE[method]
    if unit is Unit.SEPTET:
        return room * 8 // 7
    if unit is Unit.UCS2:
        return room - room % 2
    return room


def cut_points(payload: bytes, unit: Unit, method: Concatenation) -> list[tuple[int, int]]:
    """(start, end) octet ranges of each part; one range when the payload fits a single SMS."""
    if unit is Unit.UCS2 and len(payload) % 2:
        raise SegmentationError(f"UCS-2 payload has an odd length ({len(payload)})")
    if len(payload) <= _SINGLE[unit]:
        return [(0, len(payload))]
    size = part_size(unit, method)
    cuts: list[tuple[int, int]] = []
    start = 0
    while start < len(payload):
        end = min(start + size, len(payload))
        if end < len(payload):
            end -= _overhang(payload, start, end, unit)
        cuts.append((start, end))
        start = end
    return cuts


def _overhang(payload: bytes, start: int, end: int, unit: Unit) -> int:
    """Octets to move into the next part so the cut at ``end`` splits no character."""
    if unit is Unit.SEPTET:
        # A run of escapes pairs up from its first octet (``start`` and the octet before the
        # run are character boundaries), so an odd run leaves its last ESC without its char.
        run = 0
        while end - run - 1 >= start and payload[end - run - 1] == ESCAPE:
            run += 1
        return run % 2
    if unit is Unit.UCS2 and 0xD8 <= payload[end - 2] <= 0xDB:
        return 2  # high surrogate: its low half starts the next part
    return 0


def concatenation_header(reference: int, total: int, seqnum: int, *, wide: bool) -> bytes:
    """The UDH (length octet first) of part ``seqnum`` of ``total``: IEI 0x00 with an 8-bit
    ``reference``, or IEI 0x08 with a 16-bit one when ``wide``."""
    if wide:
        return bytes((6, 0x08, 4, reference >> 8, reference & 0xFF, total, seqnum))
    return bytes((5, 0x00, 3, reference, total, seqnum))


def split_payload(
    data_coding: int,
    payload: bytes,
    *,
    reference: int,
    method: Concatenation = Concatenation.UDH8,
    default_alphabet: DefaultAlphabet = DefaultAlphabet.GSM,
) -> list[Segment]:
    """Encoded ``payload`` as the segments to submit. A message that fits one SMS is one
    segment with no UDH and no TLVs. ``reference`` is the concatenation reference the caller
    picked (0-255 for UDH8, 0-65535 otherwise); it must differ between concurrent messages
    to the same destination."""
    limit = 0xFF if method is Concatenation.UDH8 else 0xFFFF
    if not 0 <= reference <= limit:
        raise SegmentationError(f"reference {reference} outside 0..{limit} for {method.value}")
    cuts = cut_points(payload, unit_of(data_coding, default_alphabet), method)
    if len(cuts) == 1:
        return [Segment(payload)]
    total = len(cuts)
    if total > MAX_PARTS:
        raise SegmentationError(f"message needs {total} parts, more than {MAX_PARTS}")
    segments: list[Segment] = []
    for seqnum, (start, end) in enumerate(cuts, 1):
        chunk = payload[start:end]
        if method is not Concatenation.SAR:
            wide = method is Concatenation.UDH16
            udh = concatenation_header(reference, total, seqnum, wide=wide)
            segments.append(Segment(udh + chunk, EsmClass.UDHI))
        else:
            tlvs = Tlvs()
            tlvs.sar_msg_ref_num = reference
            tlvs.sar_total_segments = total
            tlvs.sar_segment_seqnum = seqnum
            segments.append(Segment(chunk, 0, tlvs))
    return segments


def split_text(
    text: str,
    *,
    reference: int,
    method: Concatenation = Concatenation.UDH8,
    default_alphabet: DefaultAlphabet = DefaultAlphabet.GSM,
) -> tuple[int, list[Segment]]:
    """(data_coding, segments) for ``text``, encoded by ``encode_text``."""
    data_coding, payload = encode_text(text, default_alphabet)
    segments = split_payload(
        data_coding,
        payload,
        reference=reference,
        method=method,
        default_alphabet=default_alphabet,
    )
    return data_coding, segments


def count_parts(
    text: str,
    method: Concatenation = Concatenation.UDH8,
    default_alphabet: DefaultAlphabet = DefaultAlphabet.GSM,
) -> int:
    """How many SMS ``text`` takes (what the partner is billed for); may exceed 255."""
    data_coding, payload = encode_text(text, default_alphabet)
    return len(cut_points(payload, unit_of(data_coding, default_alphabet), method))
