"""The operator-side bind against a hand-driven SMSC on a real socket: malformed PDUs from
the operator get generic_nack or the right status and never break the bind; receipts are
acknowledged only after core stored them (0x64 when core cannot be reached, the catalogue's
deliver_sm column for a refusal)."""

from __future__ import annotations

import asyncio
import datetime as dt
import struct
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from rcs.common.v1 import message_pb2
from rcs.connector.v1 import connector_service_pb2 as cs
from rcs.core.v1 import delivery_service_pb2_grpc, message_service_pb2
from rcs_connectors.interfaces import SmppInterface
from rcs_connectors.receipt_sink import ReceiptSink
from rcs_connectors.settings import ConnectorSettings
from rcs_connectors.smpp_bind import OperatorBind
from rcs_runtime.errors import RcsError, Reason
from rcs_runtime.grpc_client import open_channel
from rcs_smpp.codec import decode, encode
from rcs_smpp.constants import MessageState
from rcs_smpp.pdu import BindTransceiver, BindTransceiverResp, Pdu, SubmitSm, SubmitSmResp
from rcs_smpp.receipts import build_receipt_pdu
from tests.support import Ctx, start_server


class RecordingCore(delivery_service_pb2_grpc.DeliveryServiceServicer):
    def __init__(self) -> None:
        self.receipts: list[message_service_pb2.Receipt] = []
        self.fail = False
        self.refuse: Reason | None = None  # a catalogued refusal, with its ErrorInfo

    async def RecordReceipts(self, request: Any, context: Ctx) -> Any:
        if self.fail:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "down for the test")
        if self.refuse is not None:
            raise RcsError(self.refuse, "refused for the test")
        self.receipts.extend(request.receipts)
        return message_service_pb2.RecordReceiptsResponse(matched_count=len(request.receipts))


class HandDrivenSmsc:
    """Accepts one connection, answers bind and submit_sm, and lets the test write raw
    frames and read what the connector answers."""

    def __init__(self) -> None:
        self.answers: asyncio.Queue[Pdu] = asyncio.Queue()
        self.writer: asyncio.StreamWriter | None = None
        self.connected = asyncio.Event()
        self.submits: list[SubmitSm] = []
        self.statuses: list[int] = []  # answers to the next submits, in turn; then 0x00

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.connected.set()
        while True:
            try:
                header = await reader.readexactly(4)
            except asyncio.IncompleteReadError:
                return
            (length,) = struct.unpack(">I", header)
            pdu = decode(header + await reader.readexactly(length - 4))
            if isinstance(pdu, BindTransceiver):
                reply: Pdu = BindTransceiverResp(system_id="hand")
            elif isinstance(pdu, SubmitSm):
                self.submits.append(pdu)
                status = self.statuses.pop(0) if self.statuses else 0
                reply = SubmitSmResp(
                    command_status=status, message_id="" if status else f"{len(self.submits):04X}"
                )
            else:
                await self.answers.put(pdu)
                continue
            reply.sequence_number = pdu.sequence_number
            writer.write(encode(reply))

    def send_raw(self, frame: bytes) -> None:
        assert self.writer is not None
        self.writer.write(frame)


@pytest.fixture
async def rig() -> AsyncIterator[tuple[OperatorBind, HandDrivenSmsc, RecordingCore]]:
    smsc = HandDrivenSmsc()
    server = await asyncio.start_server(smsc.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    core = RecordingCore()  # type: ignore[abstract]  # only RecordReceipts is called
    grpc_server = await start_server(
        lambda s: delivery_service_pb2_grpc.add_DeliveryServiceServicer_to_server(core, s)
    )
    channel = open_channel(f"127.0.0.1:{grpc_server.port}")
    sink = ReceiptSink(delivery_service_pb2_grpc.DeliveryServiceStub(channel), flush_seconds=0.01)
    iface = SmppInterface("hand", "127.0.0.1", port, "rcs", "pw", "", 10, 0)
    bind = OperatorBind(iface, ConnectorSettings(connector_throttle_pause_seconds=0.05), sink)
    bind.start()
    await asyncio.wait_for(smsc.connected.wait(), 5)
    for _ in range(50):
        if bind.bound:
            break
        await asyncio.sleep(0.05)
    yield bind, smsc, core
    await bind.stop()
    await channel.close()
    await grpc_server.stop(0)
    if smsc.writer is not None:
        smsc.writer.close()
        await smsc.writer.wait_closed()
    server.close()
    await server.wait_closed()


def receipt_frame(sequence: int, message_id: str = "ab") -> bytes:
    pdu = build_receipt_pdu(
        source_addr="79161234567",
        destination_addr="RCS",
        message_id=message_id,
        state=MessageState.UNDELIVERABLE,
        submit_date=dt.datetime(2026, 1, 1),
        done_date=dt.datetime(2026, 1, 1),
        err=8,
    )
    pdu.sequence_number = sequence
    return encode(pdu)


def outbound(text: str = "hi", *, flash: bool = False) -> cs.OutboundMessage:
    m = cs.OutboundMessage(
        message_id="1",
        interface_id="hand",
        destination="79161234567",
        sms=message_pb2.SmsContent(text=text, sender="RCS", flash=flash),
        receipt_wanted=True,
    )
    m.valid_until.FromDatetime(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    return m


async def test_garbage_from_operator_gets_nack_and_bind_survives(rig: Any) -> None:
    bind, smsc, _ = rig
    assert bind.bound
    smsc.send_raw(struct.pack(">IIII", 16, 0x00000077, 0, 9))  # unknown command id
    nack = await asyncio.wait_for(smsc.answers.get(), 5)
    assert (type(nack).__name__, nack.command_status, nack.sequence_number) == (
        "GenericNack",
        0x03,
        9,
    )
    # deliver_sm whose body is cut short: answered with its own response and a status.
    smsc.send_raw(struct.pack(">IIII", 20, 0x00000005, 0, 10) + b"\x00\x01\x01\x00")
    resp = await asyncio.wait_for(smsc.answers.get(), 5)
    assert resp.sequence_number == 10
    assert resp.command_status != 0
    result = await bind.submit(outbound())
    assert result.outcome == cs.SEND_OUTCOME_ACCEPTED
    assert list(result.operator_message_ids) == ["0001"]


async def test_receipt_is_acknowledged_after_core_stored_it(rig: Any) -> None:
    _, smsc, core = rig
    smsc.send_raw(receipt_frame(11, "00AB"))
    resp = await asyncio.wait_for(smsc.answers.get(), 5)
    assert (resp.command_status, resp.sequence_number) == (0, 11)
    (stored,) = core.receipts
    assert (stored.operator_message_id, stored.error_code, stored.operator_state) == (
        "00AB",
        8,
        "UNDELIV",
    )


async def test_receipt_gets_temporary_error_when_core_is_down(rig: Any) -> None:
    _, smsc, core = rig
    core.fail = True
    smsc.send_raw(receipt_frame(12))
    resp = await asyncio.wait_for(smsc.answers.get(), 15)
    assert (resp.command_status, resp.sequence_number) == (0x64, 12)


async def test_receipt_answer_follows_the_catalogue_for_cores_refusal(rig: Any) -> None:
    """The deliver_sm answer is the catalogue's column for core's reason: redeliver (0x64)
    for a retryable one, do not (0x65) for one that a redelivery cannot cure."""
    _, smsc, core = rig
    core.refuse = Reason.INVALID_REQUEST
    smsc.send_raw(receipt_frame(13))
    resp = await asyncio.wait_for(smsc.answers.get(), 15)
    assert (resp.command_status, resp.sequence_number) == (0x65, 13)
    core.refuse = Reason.QUEUE_FULL
    smsc.send_raw(receipt_frame(14))
    resp = await asyncio.wait_for(smsc.answers.get(), 15)
    assert (resp.command_status, resp.sequence_number) == (0x64, 14)
    assert core.receipts == []


async def test_flash_sms_goes_as_message_class_0(rig: Any) -> None:
    """data_coding 0x10 for GSM 03.38, 0x18 for UCS-2; the octets as for an ordinary SMS."""
    bind, smsc, _ = rig
    for message in (outbound("hi", flash=True), outbound("Привет", flash=True), outbound("hi")):
        result = await bind.submit(message)
        assert result.outcome == cs.SEND_OUTCOME_ACCEPTED
    assert [p.data_coding for p in smsc.submits] == [0x10, 0x18, 0x00]
    assert smsc.submits[1].short_message == "Привет".encode("utf-16-be")


async def test_binary_sms_goes_with_its_coding_and_header(rig: Any) -> None:
    """HTTP v5's WAP push example (smpp_encoding 245, smpp_esm_class 64): one PDU as given.
    300 octets of data_coding 4 without a header: three parts joined by a UDH."""
    bind, smsc, _ = rig
    wap = bytes.fromhex("0605040b8423f0dc0601ae02056a0045c60b03687474703a2f2f")
    data = bytes(range(256)) + bytes(44)
    for payload, coding, esm in ((wap, 0xF5, 0x40), (data, 4, 0)):
        message = outbound()
        message.sms.text = ""
        message.sms.payload, message.sms.data_coding, message.sms.esm_class = payload, coding, esm
        result = await bind.submit(message)
        assert result.outcome == cs.SEND_OUTCOME_ACCEPTED
    first, *parts = smsc.submits
    assert (first.data_coding, first.esm_class, first.short_message) == (0xF5, 0x40, wap)
    assert len(parts) == 3
    assert {(p.data_coding, p.esm_class) for p in parts} == {(4, 0x40)}
    # Each part: UDH (05 00 03 ref 03 n), then the next slice of the octets.
    assert [p.short_message[5] for p in parts] == [1, 2, 3]
    assert b"".join(p.short_message[6:] for p in parts) == data


async def test_a_throttled_part_goes_again_alone_with_the_same_reference(rig: Any) -> None:
    """Part 1 accepted, part 2 throttled: the retry sends part 2 only, and the handset
    can join the two (one concatenation reference)."""
    bind, smsc, _ = rig
    smsc.statuses = [0x00, 0x58]
    m = outbound("x" * 200)  # two GSM 03.38 parts
    first = await bind.submit(m)
    assert (first.outcome, list(first.part_numbers), first.part_count) == (
        cs.SEND_OUTCOME_RETRY,
        [1],
        2,
    )
    assert list(first.operator_message_ids) == ["0001"]
    m.sent_parts.extend(first.part_numbers)
    m.sent_parts_of = first.part_count
    second = await bind.submit(m)
    assert (second.outcome, list(second.part_numbers), second.part_count) == (
        cs.SEND_OUTCOME_ACCEPTED,
        [2],
        2,
    )
    assert list(second.operator_message_ids) == ["0003"]
    # (reference, total, part number) of each submit_sm, from its UDH.
    udh = [tuple(s.short_message[3:6]) for s in smsc.submits]
    assert udh == [(2, 2, 1), (2, 2, 2), (2, 2, 2)]  # message "1": reference 1 % 255 + 1


async def test_parts_split_otherwise_are_all_sent_again(rig: Any) -> None:
    bind, smsc, _ = rig
    m = outbound("x" * 200)
    m.sent_parts.append(1)
    m.sent_parts_of = 3  # an earlier attempt split it in three: no part is known sent
    result = await bind.submit(m)
    assert (result.outcome, list(result.part_numbers)) == (cs.SEND_OUTCOME_ACCEPTED, [1, 2])
    assert [s.short_message[5] for s in smsc.submits] == [1, 2]
