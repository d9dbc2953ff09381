"""Joining concatenated parts back into one message.

A part announces its place through a UDH concatenation IE (IEI 0x00, 8-bit reference, or IEI
0x08, 16-bit reference) when esm_class has UDHI, or through the SAR TLVs. A PDU carrying
message_payload is a complete message by itself. Time is passed in (``now``, in seconds of
any monotonic clock), so the reassembler is pure and deterministic under test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from rcs_smpp.constants import EsmClass
from rcs_smpp.errors import SmppError
from rcs_smpp.pdu import DataSm, ShortMessagePdu

MessagePdu = ShortMessagePdu | DataSm

_IEI_CONCAT_8: Final = 0x00
_IEI_CONCAT_16: Final = 0x08


class UserDataError(SmppError, ValueError):
    """A UDH or concatenation header that cannot be right (overruns, part 0 of 3, ...)."""


@dataclass(frozen=True, slots=True)
class PartInfo:
    reference: int
    total: int
    seqnum: int


@dataclass(frozen=True, slots=True)
class UserData:
    """The user data of one PDU: its UDH (with the length octet; empty when there is none),
    the payload after it, and its place in a concatenated message, if any."""

    udh: bytes
    payload: bytes
    part: PartInfo | None


def parse_user_data(pdu: MessagePdu) -> UserData:
    """Split a PDU's user data into UDH, payload and concatenation info."""
    data = pdu.tlvs.message_payload
    whole = data is not None
    if data is None:
        data = pdu.short_message if isinstance(pdu, ShortMessagePdu) else b""
    udh = b""
    part: PartInfo | None = None
    if pdu.esm_class & EsmClass.UDHI:
        udh, part = _parse_udh(data)
        data = data[len(udh) :]
    elif pdu.tlvs.sar_msg_ref_num is not None:
        # The codec guarantees the trio is complete and 1 <= seqnum <= total.
        part = PartInfo(
            pdu.tlvs.sar_msg_ref_num,
            pdu.tlvs.sar_total_segments or 0,
            pdu.tlvs.sar_segment_seqnum or 0,
        )
    return UserData(udh, data, None if whole else part)


def _parse_udh(data: bytes) -> tuple[bytes, PartInfo | None]:
    if not data or 1 + data[0] > len(data):
        raise UserDataError("UDHI is set but the UDH length overruns the user data")
    end = 1 + data[0]
    pos = 1
    part: PartInfo | None = None
    while pos < end:
        if pos + 2 > end or pos + 2 + data[pos + 1] > end:
            raise UserDataError(f"UDH information element at {pos} overruns the UDH")
        iei, size = data[pos], data[pos + 1]
        value = data[pos + 2 : pos + 2 + size]
        if iei == _IEI_CONCAT_8 and size == 3:
            part = PartInfo(value[0], value[1], value[2])
        elif iei == _IEI_CONCAT_16 and size == 4:
            part = PartInfo(int.from_bytes(value[:2], "big"), value[2], value[3])
        pos += 2 + size
    if part is not None and (part.total == 0 or not 1 <= part.seqnum <= part.total):
        raise UserDataError(f"concatenation part {part.seqnum} of {part.total}")
    return data[:end], part


@dataclass(frozen=True, slots=True)
class Message:
    """A complete message: the payload of every part in order, UDHs removed."""

    source_addr: str
    destination_addr: str
    data_coding: int
    payload: bytes
    pdus: tuple[MessagePdu, ...]  # the parts in sequence order (one PDU if unsplit)


@dataclass(slots=True)
class Incomplete:
    """A part set that did not complete in time (or was evicted to bound memory)."""

    source_addr: str
    destination_addr: str
    reference: int
    total: int
    first_seen: float
    parts: dict[int, tuple[MessagePdu, bytes]] = field(default_factory=dict)


_Key = tuple[str, str, int, int]


class Reassembler:
    """Collects parts keyed by (source, destination, reference) — and part count, so a
    reference reused with another count never mixes two messages. Parts may arrive in any
    order; a repeated part is ignored (the first copy is kept)."""

    def __init__(self, timeout: float = 300.0, max_pending: int = 10_000) -> None:
        self._timeout = timeout
        self._max_pending = max_pending
        self._pending: dict[_Key, Incomplete] = {}
        self._evicted: list[Incomplete] = []

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(self, pdu: MessagePdu, now: float) -> Message | None:
        """The complete message once ``pdu`` completes it (at once for an unsplit message);
        None while parts are missing. Raises UserDataError for a malformed UDH."""
        user_data = parse_user_data(pdu)
        part = user_data.part
        if part is None or part.total == 1:
            return Message(
                pdu.source_addr, pdu.destination_addr, pdu.data_coding, user_data.payload, (pdu,)
            )
        key = (pdu.source_addr, pdu.destination_addr, part.reference, part.total)
        entry = self._pending.get(key)
        if entry is None:
            if len(self._pending) >= self._max_pending:
                oldest = next(iter(self._pending))
                self._evicted.append(self._pending.pop(oldest))
            entry = Incomplete(
                pdu.source_addr, pdu.destination_addr, part.reference, part.total, now
            )
            self._pending[key] = entry
        entry.parts.setdefault(part.seqnum, (pdu, user_data.payload))
        if len(entry.parts) < part.total:
            return None
        del self._pending[key]
        ordered = [entry.parts[n] for n in range(1, part.total + 1)]
        first = ordered[0][0]
        return Message(
            entry.source_addr,
            entry.destination_addr,
            first.data_coding,
            b"".join(payload for _, payload in ordered),
            tuple(p for p, _ in ordered),
        )

    def expire(self, now: float) -> list[Incomplete]:
        """Remove and return sets whose first part came ``timeout`` or more seconds before
        ``now``, plus any evicted since the last call."""
        expired, self._evicted = self._evicted, []
        for key, entry in list(self._pending.items()):
            if now - entry.first_seen >= self._timeout:
                expired.append(self._pending.pop(key))
        return expired
