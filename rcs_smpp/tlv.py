"""Optional parameters (TLVs): an ordered mapping tag -> raw value with typed accessors, and
the validation rules the codec applies on both encode and decode (so we never send what we
would refuse).

Unknown tags are kept verbatim (the spec says to ignore, not reject, them), so a PDU decodes
and re-encodes byte for byte.
"""

from __future__ import annotations

from rcs_smpp.constants import CommandStatus, MessageState, Tag

# Known tags whose value has a fixed size (or a size range); a mismatch is ESME_RINVPARLEN.
_FIXED_SIZE: dict[int, int] = {
    Tag.DEST_ADDR_SUBUNIT: 1,
    Tag.SOURCE_ADDR_SUBUNIT: 1,
    Tag.DEST_NETWORK_TYPE: 1,
    Tag.SOURCE_NETWORK_TYPE: 1,
    Tag.DEST_BEARER_TYPE: 1,
    Tag.SOURCE_BEARER_TYPE: 1,
    Tag.QOS_TIME_TO_LIVE: 4,
    Tag.PAYLOAD_TYPE: 1,
    Tag.MS_MSG_WAIT_FACILITIES: 1,
    Tag.PRIVACY_INDICATOR: 1,
    Tag.USER_MESSAGE_REFERENCE: 2,
    Tag.USER_RESPONSE_CODE: 1,
    Tag.SOURCE_PORT: 2,
    Tag.DESTINATION_PORT: 2,
    Tag.SAR_MSG_REF_NUM: 2,
    Tag.LANGUAGE_INDICATOR: 1,
    Tag.SAR_TOTAL_SEGMENTS: 1,
    Tag.SAR_SEGMENT_SEQNUM: 1,
    Tag.SC_INTERFACE_VERSION: 1,
    Tag.CALLBACK_NUM_PRES_IND: 1,
    Tag.NUMBER_OF_MESSAGES: 1,
    Tag.DPF_RESULT: 1,
    Tag.SET_DPF: 1,
    Tag.MS_AVAILABILITY_STATUS: 1,
    Tag.NETWORK_ERROR_CODE: 3,
    Tag.DELIVERY_FAILURE_REASON: 1,
    Tag.MORE_MESSAGES_TO_SEND: 1,
    Tag.MESSAGE_STATE: 1,
    Tag.USSD_SERVICE_OP: 1,
    Tag.DISPLAY_TIME: 1,
    Tag.SMS_SIGNAL: 2,
    Tag.MS_VALIDITY: 1,
    Tag.ALERT_ON_MESSAGE_DELIVERY: 0,
    Tag.ITS_REPLY_TYPE: 1,
    Tag.ITS_SESSION_INFO: 2,
}
_SIZE_RANGE: dict[int, tuple[int, int]] = {
    Tag.RECEIPTED_MESSAGE_ID: (1, 65),
    Tag.ADDITIONAL_STATUS_INFO_TEXT: (1, 256),
}
# Plain ints: the checks run on every PDU that carries TLVs.
SIZE_BOUNDS: dict[int, range] = {
    **{int(tag): range(size, size + 1) for tag, size in _FIXED_SIZE.items()},
    **{int(tag): range(low, high + 1) for tag, (low, high) in _SIZE_RANGE.items()},
}
_STATE = int(Tag.MESSAGE_STATE)
_SAR_REF = int(Tag.SAR_MSG_REF_NUM)
_SAR_TOTAL = int(Tag.SAR_TOTAL_SEGMENTS)
_SAR_SEQNUM = int(Tag.SAR_SEGMENT_SEQNUM)
_MAX_STATE = int(max(MessageState))


class Tlvs(dict[int, bytes]):
    """Ordered tag -> value octets. Accessors return None when the tag is absent."""

    __slots__ = ()

    def get_uint(self, tag: int) -> int | None:
        value = self.get(tag)
        return None if value is None else int.from_bytes(value, "big")

    def set_uint(self, tag: int, value: int | None, size: int) -> None:
        if value is None:
            self.pop(tag, None)
        else:
            self[tag] = value.to_bytes(size, "big")

    def get_cstring(self, tag: int) -> str | None:
        """A C-octet string value; the NUL terminator is optional because many SMSCs omit it."""
        value = self.get(tag)
        if value is None:
            return None
        nul = value.find(b"\0")
        return (value if nul < 0 else value[:nul]).decode("latin-1")

    def set_cstring(self, tag: int, value: str | None) -> None:
        if value is None:
            self.pop(tag, None)
        else:
            self[tag] = value.encode("latin-1") + b"\0"

    @property
    def message_payload(self) -> bytes | None:
        return self.get(Tag.MESSAGE_PAYLOAD)

    @message_payload.setter
    def message_payload(self, value: bytes | None) -> None:
        if value is None:
            self.pop(Tag.MESSAGE_PAYLOAD, None)
        else:
            self[Tag.MESSAGE_PAYLOAD] = value

    @property
    def sar_msg_ref_num(self) -> int | None:
        return self.get_uint(Tag.SAR_MSG_REF_NUM)

    @sar_msg_ref_num.setter
    def sar_msg_ref_num(self, value: int | None) -> None:
        self.set_uint(Tag.SAR_MSG_REF_NUM, value, 2)

    @property
    def sar_total_segments(self) -> int | None:
        return self.get_uint(Tag.SAR_TOTAL_SEGMENTS)

    @sar_total_segments.setter
    def sar_total_segments(self, value: int | None) -> None:
        self.set_uint(Tag.SAR_TOTAL_SEGMENTS, value, 1)

    @property
    def sar_segment_seqnum(self) -> int | None:
        return self.get_uint(Tag.SAR_SEGMENT_SEQNUM)

    @sar_segment_seqnum.setter
    def sar_segment_seqnum(self, value: int | None) -> None:
        self.set_uint(Tag.SAR_SEGMENT_SEQNUM, value, 1)

    @property
    def receipted_message_id(self) -> str | None:
        return self.get_cstring(Tag.RECEIPTED_MESSAGE_ID)

    @receipted_message_id.setter
    def receipted_message_id(self, value: str | None) -> None:
        self.set_cstring(Tag.RECEIPTED_MESSAGE_ID, value)

    @property
    def message_state(self) -> int | None:
        return self.get_uint(Tag.MESSAGE_STATE)

    @message_state.setter
    def message_state(self, value: int | None) -> None:
        self.set_uint(Tag.MESSAGE_STATE, value, 1)

    @property
    def network_error_code(self) -> tuple[int, int] | None:
        """(network type: 1 ANSI-136, 2 IS-95, 3 GSM, ...; error code)."""
        value = self.get(Tag.NETWORK_ERROR_CODE)
        if value is None:
            return None
        return value[0], int.from_bytes(value[1:3], "big")

    @network_error_code.setter
    def network_error_code(self, value: tuple[int, int] | None) -> None:
        if value is None:
            self.pop(Tag.NETWORK_ERROR_CODE, None)
        else:
            self[Tag.NETWORK_ERROR_CODE] = bytes([value[0]]) + value[1].to_bytes(2, "big")

    @property
    def user_message_reference(self) -> int | None:
        return self.get_uint(Tag.USER_MESSAGE_REFERENCE)

    @user_message_reference.setter
    def user_message_reference(self, value: int | None) -> None:
        self.set_uint(Tag.USER_MESSAGE_REFERENCE, value, 2)


def check_tlv_values(tlvs: Tlvs) -> tuple[int, str] | None:
    """The first value-level violation as (command_status, reason), or None.

    An incomplete SAR trio is ESME_RMISSINGOPTPARAM; out-of-range SAR numbers or message_state
    are ESME_RINVOPTPARAMVAL. Sizes are checked by the codec against ``SIZE_BOUNDS`` as it
    walks the TLVs, so this assumes they are right.
    """
    state = tlvs.get(_STATE)
    if state is not None and state[0] > _MAX_STATE:
        return CommandStatus.ESME_RINVOPTPARAMVAL, f"message_state {state[0]} is unknown"
    ref, total, seqnum = tlvs.get(_SAR_REF), tlvs.get(_SAR_TOTAL), tlvs.get(_SAR_SEQNUM)
    if ref is None and total is None and seqnum is None:
        return None
    if ref is None or total is None or seqnum is None:
        return CommandStatus.ESME_RMISSINGOPTPARAM, "SAR TLVs must come as a complete trio"
    if total[0] == 0 or not 1 <= seqnum[0] <= total[0]:
        return CommandStatus.ESME_RINVOPTPARAMVAL, f"SAR segment {seqnum[0]} of {total[0]}"
    return None


def size_problem(tag: int, size: int) -> str | None:
    """Why a value of ``size`` octets is wrong for ``tag`` (ESME_RINVPARLEN), or None."""
    allowed = SIZE_BOUNDS.get(tag)
    if allowed is None or size in allowed:
        return None
    return f"TLV 0x{tag:04X} must be {allowed.start}-{allowed.stop - 1} octets, not {size}"


STANDARD_TAGS = frozenset(int(tag) for tag in Tag)


def standard_only(tlvs: Tlvs) -> Tlvs:
    """The SMPP 3.4 standard optional parameters of ``tlvs`` (5.3.2), without vendor tags
    such as Rapporto's 0x1440: for ESMEs whose client library refuses tags it does not know."""
    return Tlvs({tag: value for tag, value in tlvs.items() if tag in STANDARD_TAGS})
