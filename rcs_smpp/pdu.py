"""SMPP 3.4 PDUs as plain dataclasses (no I/O, no encoding: see ``codec``).

Field order follows the spec's body layout after the two header fields, so the codec can build
a PDU positionally. C-octet strings are ``str`` (decoded as Latin-1, which is lossless), octet
strings are ``bytes``. Response bodies are optional on error: an error response whose body
fields are all defaults goes on the wire as a bare header, as the spec allows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from rcs_smpp.constants import INTERFACE_VERSION_34, CommandId
from rcs_smpp.tlv import Tlvs


@dataclass(slots=True)
class Pdu:
    command_id: ClassVar[int]
    # Whether the body may end with TLVs. 3.4 allows none on most PDUs; we also accept them on
    # responses because SMPP 5.0 SMSCs add e.g. additional_status_info_text to submit_sm_resp.
    has_tlvs: ClassVar[bool] = False

    command_status: int = 0
    sequence_number: int = 0

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & 0x80000000)


# -- session management -----------------------------------------------------------------------


@dataclass(slots=True)
class BindRequest(Pdu):
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    interface_version: int = INTERFACE_VERSION_34
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""


@dataclass(slots=True)
class BindTransmitter(BindRequest):
    command_id = CommandId.BIND_TRANSMITTER


@dataclass(slots=True)
class BindReceiver(BindRequest):
    command_id = CommandId.BIND_RECEIVER


@dataclass(slots=True)
class BindTransceiver(BindRequest):
    command_id = CommandId.BIND_TRANSCEIVER


@dataclass(slots=True)
class BindResponse(Pdu):
    has_tlvs = True  # sc_interface_version

    system_id: str = ""
    tlvs: Tlvs = field(default_factory=Tlvs)


@dataclass(slots=True)
class BindTransmitterResp(BindResponse):
    command_id = CommandId.BIND_TRANSMITTER_RESP


@dataclass(slots=True)
class BindReceiverResp(BindResponse):
    command_id = CommandId.BIND_RECEIVER_RESP


@dataclass(slots=True)
class BindTransceiverResp(BindResponse):
    command_id = CommandId.BIND_TRANSCEIVER_RESP


@dataclass(slots=True)
class Outbind(Pdu):
    command_id = CommandId.OUTBIND

    system_id: str = ""
    password: str = ""


@dataclass(slots=True)
class Unbind(Pdu):
    command_id = CommandId.UNBIND


@dataclass(slots=True)
class UnbindResp(Pdu):
    command_id = CommandId.UNBIND_RESP


@dataclass(slots=True)
class EnquireLink(Pdu):
    command_id = CommandId.ENQUIRE_LINK


@dataclass(slots=True)
class EnquireLinkResp(Pdu):
    command_id = CommandId.ENQUIRE_LINK_RESP


@dataclass(slots=True)
class GenericNack(Pdu):
    command_id = CommandId.GENERIC_NACK


# -- messages ---------------------------------------------------------------------------------


@dataclass(slots=True)
class ShortMessagePdu(Pdu):
    """The body shared by submit_sm and deliver_sm."""

    has_tlvs = True

    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""
    tlvs: Tlvs = field(default_factory=Tlvs)


@dataclass(slots=True)
class SubmitSm(ShortMessagePdu):
    command_id = CommandId.SUBMIT_SM


@dataclass(slots=True)
class DeliverSm(ShortMessagePdu):
    command_id = CommandId.DELIVER_SM


@dataclass(slots=True)
class MessageIdResponse(Pdu):
    has_tlvs = True

    message_id: str = ""
    tlvs: Tlvs = field(default_factory=Tlvs)


@dataclass(slots=True)
class SubmitSmResp(MessageIdResponse):
    command_id = CommandId.SUBMIT_SM_RESP


@dataclass(slots=True)
class DeliverSmResp(MessageIdResponse):
    command_id = CommandId.DELIVER_SM_RESP


@dataclass(slots=True)
class DataSm(Pdu):
    command_id = CommandId.DATA_SM
    has_tlvs = True

    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    registered_delivery: int = 0
    data_coding: int = 0
    tlvs: Tlvs = field(default_factory=Tlvs)


@dataclass(slots=True)
class DataSmResp(MessageIdResponse):
    command_id = CommandId.DATA_SM_RESP


@dataclass(slots=True)
class QuerySm(Pdu):
    command_id = CommandId.QUERY_SM

    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""


@dataclass(slots=True)
class QuerySmResp(Pdu):
    command_id = CommandId.QUERY_SM_RESP

    message_id: str = ""
    final_date: str = ""
    message_state: int = 0
    error_code: int = 0


BIND_RESPONSES: dict[
    type[BindRequest], type[BindTransmitterResp | BindReceiverResp | BindTransceiverResp]
] = {
    BindTransmitter: BindTransmitterResp,
    BindReceiver: BindReceiverResp,
    BindTransceiver: BindTransceiverResp,
}
"""Bind request type -> its response type (which carries system_id)."""

RESPONSE_TYPES: dict[type[Pdu], type[Pdu]] = {
    BindTransmitter: BindTransmitterResp,
    BindReceiver: BindReceiverResp,
    BindTransceiver: BindTransceiverResp,
    Unbind: UnbindResp,
    EnquireLink: EnquireLinkResp,
    SubmitSm: SubmitSmResp,
    DeliverSm: DeliverSmResp,
    DataSm: DataSmResp,
    QuerySm: QuerySmResp,
}
"""Request type -> its response type. Outbind has no response."""


def make_response(request: Pdu, status: int = 0) -> Pdu:
    """An empty response to ``request`` with its sequence number; body fields keep defaults."""
    response_type = RESPONSE_TYPES.get(type(request), GenericNack)
    return response_type(command_status=status, sequence_number=request.sequence_number)
