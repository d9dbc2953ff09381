"""Binary codec of SMPP 3.4 PDUs: ``encode(pdu) -> bytes``, ``decode(frame) -> Pdu`` and
``frame_length(header)`` for readers that frame a byte stream.

Each PDU type has a precompiled layout (runs of one-octet integers are packed by a single
``struct.Struct``) interpreted by one small loop in each direction. submit_sm and deliver_sm,
nearly all of the traffic, have unrolled copies of those loops with the same checks.
"""

from __future__ import annotations

import struct
from dataclasses import fields
from operator import attrgetter
from typing import Any, Final

from rcs_smpp import pdu as p
from rcs_smpp.constants import (
    DEFAULT_MAX_PDU_LENGTH,
    HEADER_LENGTH,
    MAX_ADDR,
    MAX_ADDRESS_RANGE,
    MAX_DATA_SM_ADDR,
    MAX_MESSAGE_ID,
    MAX_PASSWORD,
    MAX_SERVICE_TYPE,
    MAX_SHORT_MESSAGE_LENGTH,
    MAX_SYSTEM_ID,
    MAX_SYSTEM_TYPE,
    MAX_TIME,
    CommandStatus,
)
from rcs_smpp.errors import FramingError, PduDecodeError, PduEncodeError
from rcs_smpp.tlv import SIZE_BOUNDS, Tlvs, check_tlv_values, size_problem

_HEADER: Final = struct.Struct(">IIII")
_TLV_HEAD: Final = struct.Struct(">HH")
_S = CommandStatus

# Layout operations. A layout is a tuple of these, in wire order.
_CSTR: Final = 0  # (_CSTR, max size incl. NUL, status on error)
_TIME: Final = 1  # (_TIME, status): empty or exactly 16 characters
_INTS: Final = 2  # (_INTS, struct of n one-octet integers, n)
_SM: Final = 3  # (_SM,): sm_length octet followed by that many octets of short_message

_Op = tuple[Any, ...]


def _ints(n: int) -> _Op:
    return (_INTS, struct.Struct(f">{n}B"), n)


def _cstr(max_size: int, status: int = _S.ESME_RINVCMDLEN) -> _Op:
    return (_CSTR, max_size, status)


_BIND: Final = (
    _cstr(MAX_SYSTEM_ID, _S.ESME_RINVSYSID),
    _cstr(MAX_PASSWORD, _S.ESME_RINVPASWD),
    _cstr(MAX_SYSTEM_TYPE, _S.ESME_RINVSYSTYP),
    _ints(3),  # interface_version, addr_ton, addr_npi
    _cstr(MAX_ADDRESS_RANGE),
)
_SHORT_MESSAGE: Final = (
    _cstr(MAX_SERVICE_TYPE, _S.ESME_RINVSERTYP),
    _ints(2),
    _cstr(MAX_ADDR, _S.ESME_RINVSRCADR),
    _ints(2),
    _cstr(MAX_ADDR, _S.ESME_RINVDSTADR),
    _ints(3),  # esm_class, protocol_id, priority_flag
    (_TIME, _S.ESME_RINVSCHED),
    (_TIME, _S.ESME_RINVEXPIRY),
    _ints(4),  # registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id
    (_SM,),
)
_MESSAGE_ID: Final = (_cstr(MAX_MESSAGE_ID, _S.ESME_RINVMSGID),)

_LAYOUTS: Final[dict[type[p.Pdu], tuple[_Op, ...]]] = {
    p.BindTransmitter: _BIND,
    p.BindReceiver: _BIND,
    p.BindTransceiver: _BIND,
    p.BindTransmitterResp: (_cstr(MAX_SYSTEM_ID, _S.ESME_RINVSYSID),),
    p.BindReceiverResp: (_cstr(MAX_SYSTEM_ID, _S.ESME_RINVSYSID),),
    p.BindTransceiverResp: (_cstr(MAX_SYSTEM_ID, _S.ESME_RINVSYSID),),
    p.Outbind: (_cstr(MAX_SYSTEM_ID, _S.ESME_RINVSYSID), _cstr(MAX_PASSWORD, _S.ESME_RINVPASWD)),
    p.Unbind: (),
    p.UnbindResp: (),
    p.EnquireLink: (),
    p.EnquireLinkResp: (),
    p.GenericNack: (),
    p.SubmitSm: _SHORT_MESSAGE,
    p.DeliverSm: _SHORT_MESSAGE,
    p.SubmitSmResp: _MESSAGE_ID,
    p.DeliverSmResp: _MESSAGE_ID,
    p.DataSmResp: _MESSAGE_ID,
    p.DataSm: (
        _cstr(MAX_SERVICE_TYPE, _S.ESME_RINVSERTYP),
        _ints(2),
        _cstr(MAX_DATA_SM_ADDR, _S.ESME_RINVSRCADR),
        _ints(2),
        _cstr(MAX_DATA_SM_ADDR, _S.ESME_RINVDSTADR),
        _ints(3),  # esm_class, registered_delivery, data_coding
    ),
    p.QuerySm: (
        _cstr(MAX_MESSAGE_ID, _S.ESME_RINVMSGID),
        _ints(2),
        _cstr(MAX_ADDR, _S.ESME_RINVSRCADR),
    ),
    p.QuerySmResp: (
        _cstr(MAX_MESSAGE_ID, _S.ESME_RINVMSGID),
        (_TIME, _S.ESME_RINVCMDLEN),
        _ints(2),  # message_state, error_code
    ),
}


class _Codec:
    """Everything the loops need about one PDU type, computed once."""

    __slots__ = ("bare_always", "body_names", "defaults", "getter", "layout", "may_omit_body")

    def __init__(self, pdu_type: type[p.Pdu], layout: tuple[_Op, ...]) -> None:
        names = tuple(f.name for f in fields(pdu_type))[2:]  # after status, sequence_number
        body = tuple(n for n in names if n != "tlvs")
        self.layout = layout
        self.body_names = body
        self.getter: Any = attrgetter(*body) if len(body) > 1 else _one(body)
        self.defaults = tuple(getattr(pdu_type(), n) for n in body)
        # An error response may come as a bare header (e.g. submit_sm_resp with 0x58). A
        # deliver_sm_resp has no meaningful body at all, so some ESMEs always omit it.
        self.may_omit_body = bool(layout) and pdu_type.command_id & 0x80000000 != 0
        self.bare_always = pdu_type is p.DeliverSmResp


def _one(names: tuple[str, ...]) -> Any:
    if not names:
        return lambda _pdu: ()
    name = names[0]
    return lambda pdu: (getattr(pdu, name),)


_BY_TYPE: Final = {t: _Codec(t, layout) for t, layout in _LAYOUTS.items()}
_BY_ID: Final = {t.command_id: t for t in _LAYOUTS}


def frame_length(header: bytes, max_length: int = DEFAULT_MAX_PDU_LENGTH) -> int:
    """The command_length announced by the first 4 octets of ``header``: the number of bytes
    the whole PDU occupies. Raises FramingError when it cannot be a valid PDU."""
    if len(header) < 4:
        raise FramingError(f"need 4 octets to read command_length, got {len(header)}")
    length = int.from_bytes(header[:4], "big")
    if length < HEADER_LENGTH or length > max_length:
        raise FramingError(f"command_length {length} outside {HEADER_LENGTH}..{max_length}")
    return length


# -- decoding ---------------------------------------------------------------------------------


class _BodyError(Exception):
    """Raised inside the body decoders; ``decode`` adds the header fields."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason


def decode(frame: bytes) -> p.Pdu:
    """Decode exactly one complete PDU (``len(frame)`` must equal its command_length).

    Raises PduDecodeError (a FramingError when command_length is unusable) carrying the
    command_status to answer with and, when readable, the command_id and sequence_number.
    """
    size = len(frame)
    if size < HEADER_LENGTH:
        raise FramingError(f"a PDU needs at least {HEADER_LENGTH} octets, got {size}")
    length, command_id, status, seq = _HEADER.unpack_from(frame)
    try:
        if length != size:
            raise _BodyError(
                _S.ESME_RINVCMDLEN, f"command_length {length} but the frame has {size} octets"
            )
        pdu_type = _BY_ID.get(command_id)
        if pdu_type is None:
            raise _BodyError(_S.ESME_RINVCMDID, f"unsupported command_id 0x{command_id:08X}")
        if pdu_type is p.SubmitSm or pdu_type is p.DeliverSm:
            return _decode_short_message(pdu_type, frame, status, seq)
        return _decode_body(pdu_type, frame, status, seq)
    except _BodyError as e:
        raise PduDecodeError(
            e.status, e.reason, command_id=command_id, sequence_number=seq
        ) from None


def _decode_body(pdu_type: type[p.Pdu], frame: bytes, status: int, seq: int) -> p.Pdu:
    codec = _BY_TYPE[pdu_type]
    end = len(frame)
    pos = HEADER_LENGTH
    if pos == end and codec.may_omit_body and (status != 0 or codec.bare_always):
        return pdu_type(status, seq)
    values: list[Any] = [status, seq]
    append = values.append
    for op in codec.layout:
        kind = op[0]
        if kind == _CSTR:
            limit = pos + op[1]
            nul = frame.find(b"\0", pos, limit if limit < end else end)
            if nul < 0:
                raise _BodyError(op[2], f"C-octet string at {pos} unterminated within {op[1]}")
            append(frame[pos:nul].decode("latin-1"))
            pos = nul + 1
        elif kind == _INTS:
            if pos + op[2] > end:
                raise _BodyError(_S.ESME_RINVCMDLEN, f"body ends inside integers at {pos}")
            values.extend(op[1].unpack_from(frame, pos))
            pos += op[2]
        elif kind == _TIME:
            nul = frame.find(b"\0", pos, min(pos + MAX_TIME, end))
            if nul != pos and nul != pos + MAX_TIME - 1:
                raise _BodyError(op[1], f"time at {pos} must be empty or 16 characters")
            append(frame[pos:nul].decode("latin-1"))
            pos = nul + 1
        else:  # _SM
            if pos >= end:
                raise _BodyError(_S.ESME_RINVCMDLEN, "body ends before sm_length")
            sm_length = frame[pos]
            pos += 1
            if sm_length > MAX_SHORT_MESSAGE_LENGTH or pos + sm_length > end:
                raise _BodyError(_S.ESME_RINVMSGLEN, f"sm_length {sm_length} exceeds the body")
            append(frame[pos : pos + sm_length])
            pos += sm_length
    if pdu_type.has_tlvs:
        append(_decode_tlvs(frame, pos, end) if pos < end else Tlvs())
    elif pos < end:
        raise _BodyError(_S.ESME_ROPTPARNOTALLWD, f"{end - pos} octets after the body")
    return pdu_type(*values)


_B2: Final = struct.Struct(">BB")
_B3: Final = struct.Struct(">BBB")
_B5: Final = struct.Struct(">BBBBB")


def _decode_short_message(
    pdu_type: type[p.ShortMessagePdu], frame: bytes, status: int, seq: int
) -> p.Pdu:
    """``_decode_body`` unrolled for the submit_sm / deliver_sm layout."""
    end = len(frame)
    # Latin-1 maps octets to code points one to one, so offsets in ``text`` are offsets in
    # ``frame``; slicing one decoded copy is cheaper than decoding five slices.
    text = frame.decode("latin-1")
    find = text.find
    pos = HEADER_LENGTH
    nul = find("\0", pos, min(pos + MAX_SERVICE_TYPE, end))
    if nul < 0 or nul + 3 > end:
        raise _BodyError(_S.ESME_RINVSERTYP, "service_type unterminated within 6 octets")
    service_type = text[pos:nul]
    src_ton, src_npi = _B2.unpack_from(frame, nul + 1)
    pos = nul + 3
    nul = find("\0", pos, min(pos + MAX_ADDR, end))
    if nul < 0 or nul + 3 > end:
        raise _BodyError(_S.ESME_RINVSRCADR, "source_addr unterminated within 21 octets")
    source_addr = text[pos:nul]
    dst_ton, dst_npi = _B2.unpack_from(frame, nul + 1)
    pos = nul + 3
    nul = find("\0", pos, min(pos + MAX_ADDR, end))
    if nul < 0 or nul + 4 > end:
        raise _BodyError(_S.ESME_RINVDSTADR, "destination_addr unterminated within 21 octets")
    destination_addr = text[pos:nul]
    esm_class, protocol_id, priority_flag = _B3.unpack_from(frame, nul + 1)
    pos = nul + 4
    nul = find("\0", pos, min(pos + MAX_TIME, end))
    if nul != pos and nul != pos + MAX_TIME - 1:
        raise _BodyError(_S.ESME_RINVSCHED, "schedule_delivery_time must be empty or 16 chars")
    schedule = text[pos:nul]
    pos = nul + 1
    nul = find("\0", pos, min(pos + MAX_TIME, end))
    if nul != pos and nul != pos + MAX_TIME - 1:
        raise _BodyError(_S.ESME_RINVEXPIRY, "validity_period must be empty or 16 chars")
    validity = text[pos:nul]
    pos = nul + 6
    if pos > end:
        raise _BodyError(_S.ESME_RINVCMDLEN, "body ends before short_message")
    registered, replace, data_coding, default_msg_id, sm_length = _B5.unpack_from(frame, nul + 1)
    if sm_length > MAX_SHORT_MESSAGE_LENGTH or pos + sm_length > end:
        raise _BodyError(_S.ESME_RINVMSGLEN, f"sm_length {sm_length} exceeds the body")
    sm_end = pos + sm_length
    return pdu_type(
        status,
        seq,
        service_type,
        src_ton,
        src_npi,
        source_addr,
        dst_ton,
        dst_npi,
        destination_addr,
        esm_class,
        protocol_id,
        priority_flag,
        schedule,
        validity,
        registered,
        replace,
        data_coding,
        default_msg_id,
        frame[pos:sm_end],
        _decode_tlvs(frame, sm_end, end) if sm_end < end else Tlvs(),
    )


def _decode_tlvs(frame: bytes, pos: int, end: int) -> Tlvs:
    tlvs = Tlvs()
    sizes = SIZE_BOUNDS
    unpack = _TLV_HEAD.unpack_from
    count = 0
    while pos < end:
        if pos + 4 > end:
            raise _BodyError(_S.ESME_RINVOPTPARSTREAM, f"truncated TLV header at {pos}")
        tag, length = unpack(frame, pos)
        start = pos + 4
        pos = start + length
        if pos > end:
            raise _BodyError(_S.ESME_RINVOPTPARSTREAM, f"TLV 0x{tag:04X} overruns the PDU")
        allowed = sizes.get(tag)
        if allowed is not None and length not in allowed:
            raise _BodyError(_S.ESME_RINVPARLEN, str(size_problem(tag, length)))
        tlvs[tag] = frame[start:pos]
        count += 1
    if count != len(tlvs):
        raise _BodyError(_S.ESME_RINVOPTPARSTREAM, "a TLV tag is repeated")
    problem = check_tlv_values(tlvs)
    if problem is not None:
        raise _BodyError(*problem)
    return tlvs


# -- encoding ---------------------------------------------------------------------------------


def encode(pdu: p.Pdu) -> bytes:
    """The wire form of ``pdu``, header included. Raises PduEncodeError for values that do not
    fit the spec (strings too long, integers out of range, inconsistent TLVs)."""
    pdu_type = type(pdu)
    codec = _BY_TYPE.get(pdu_type)
    if codec is None:
        raise PduEncodeError(f"{pdu_type.__name__} is not an encodable PDU type")
    tlvs: Tlvs | None = getattr(pdu, "tlvs", None) if pdu.has_tlvs else None
    try:
        if isinstance(pdu, p.ShortMessagePdu):
            body = _encode_short_message(pdu, codec, tlvs)
        else:
            values = codec.getter(pdu)
            if (
                codec.may_omit_body
                and pdu.command_status != 0
                and values == codec.defaults
                and not tlvs
            ):
                body = b""
            else:
                body = _encode_body(codec, values, tlvs)
        header = _HEADER.pack(
            HEADER_LENGTH + len(body), pdu.command_id, pdu.command_status, pdu.sequence_number
        )
    except (struct.error, OverflowError, UnicodeEncodeError, TypeError) as e:
        raise PduEncodeError(f"{pdu_type.__name__}: {e}") from None
    return header + body


def _encode_body(codec: _Codec, values: tuple[Any, ...], tlvs: Tlvs | None) -> bytes:
    out: list[bytes] = []
    append = out.append
    i = 0
    for op in codec.layout:
        kind = op[0]
        if kind in (_CSTR, _TIME):
            raw = values[i].encode("latin-1")
            if kind == _CSTR:
                if len(raw) >= op[1] or b"\0" in raw:
                    raise PduEncodeError(f"{codec.body_names[i]} {values[i]!r} too long or has NUL")
            elif len(raw) not in _TIME_SIZES or b"\0" in raw:
                raise PduEncodeError(f"{codec.body_names[i]} must be empty or 16 characters")
            append(raw)
            append(b"\0")
            i += 1
        elif kind == _INTS:
            n = op[2]
            append(op[1].pack(*values[i : i + n]))
            i += n
        else:  # _SM
            message: bytes = values[i]
            if len(message) > MAX_SHORT_MESSAGE_LENGTH:
                raise PduEncodeError(
                    f"short_message is {len(message)} octets; use message_payload over 254"
                )
            append(bytes((len(message),)))
            append(message)
            i += 1
    if tlvs:
        _encode_tlvs(tlvs, out)
    return b"".join(out)


_TIME_SIZES: Final = (0, MAX_TIME - 1)
# One-octet integer runs preceded by the NUL that ends the C-octet string before them.
_NB2: Final = struct.Struct(">BBB")
_NB3: Final = struct.Struct(">BBBB")
_NB5: Final = struct.Struct(">BBBBBB")


def _encode_short_message(m: p.ShortMessagePdu, codec: _Codec, tlvs: Tlvs | None) -> bytes:
    """``_encode_body`` unrolled for submit_sm / deliver_sm. Anything out of bounds goes
    through the generic loop, which names the offending field."""
    service_type = m.service_type.encode("latin-1")
    source = m.source_addr.encode("latin-1")
    destination = m.destination_addr.encode("latin-1")
    schedule = m.schedule_delivery_time.encode("latin-1")
    validity = m.validity_period.encode("latin-1")
    message = m.short_message
    if (
        len(service_type) >= MAX_SERVICE_TYPE
        or len(source) >= MAX_ADDR
        or len(destination) >= MAX_ADDR
        or len(schedule) not in _TIME_SIZES
        or len(validity) not in _TIME_SIZES
        or len(message) > MAX_SHORT_MESSAGE_LENGTH
        or b"\0" in service_type
        or b"\0" in source
        or b"\0" in destination
        or b"\0" in schedule
        or b"\0" in validity
    ):
        return _encode_body(codec, codec.getter(m), tlvs)
    out = [
        service_type,
        _NB2.pack(0, m.source_addr_ton, m.source_addr_npi),
        source,
        _NB2.pack(0, m.dest_addr_ton, m.dest_addr_npi),
        destination,
        _NB3.pack(0, m.esm_class, m.protocol_id, m.priority_flag),
        schedule,
        b"\0",
        validity,
        _NB5.pack(
            0,
            m.registered_delivery,
            m.replace_if_present_flag,
            m.data_coding,
            m.sm_default_msg_id,
            len(message),
        ),
        message,
    ]
    if tlvs:
        _encode_tlvs(tlvs, out)
    return b"".join(out)


def _encode_tlvs(tlvs: Tlvs, out: list[bytes]) -> None:
    pack = _TLV_HEAD.pack
    sizes = SIZE_BOUNDS
    for tag, value in tlvs.items():
        length = len(value)
        allowed = sizes.get(tag)
        if allowed is not None and length not in allowed:
            raise PduEncodeError(str(size_problem(tag, length)))
        out += (pack(tag, length), value)
    problem = check_tlv_values(tlvs)
    if problem is not None:
        raise PduEncodeError(problem[1])
