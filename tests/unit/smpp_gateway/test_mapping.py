"""Pure SMPP ↔ core mappings of the SMPP gateway."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from google.protobuf import timestamp_pb2

from gateways.coalescer import SubmitCoalescer
from gateways.smpp import mapping as m
from gateways.smpp.ratelimit import TokenBucket
from rcs.common.v1 import channel_pb2, message_pb2, status_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs_runtime.errors import RcsError
from rcs_smpp.constants import MessageState, RapportoTag, Tag
from rcs_smpp.tlv import Tlvs

NOW = dt.datetime(2026, 11, 26, 12, 0, 0, tzinfo=dt.UTC)


def status_of(call: Any, *args: Any) -> int:
    with pytest.raises(m.RefusedError) as e:
        call(*args)
    return e.value.status


def test_validity_period_absolute_and_relative() -> None:
    assert m.ttl_of("", NOW) == 0
    assert m.ttl_of("000000010000000R", NOW) == 3600
    assert m.ttl_of("000001000000000R", NOW) == 86400
    assert m.ttl_of("261126130000000+", NOW) == 3600  # UTC
    assert m.ttl_of("261126160000012+", NOW) == 3600  # 16:00 at UTC+3 (12 quarters)
    assert m.ttl_of("261126120000004-", NOW) == 3600  # 12:00 at UTC-1
    assert status_of(m.ttl_of, "261126110000000+", NOW) == 0x62  # in the past
    assert status_of(m.ttl_of, "261326110000000+", NOW) == 0x62  # month 13
    assert status_of(m.ttl_of, "tomorrow", NOW) == 0x62


def test_priority_and_registered_delivery() -> None:
    assert [m.priority_of(f) for f in range(4)] == [0, 1, 2, 2]
    assert status_of(m.priority_of, 4) == 0x06
    assert m.receipt_request_of(0) == message_pb2.RECEIPT_REQUEST_NONE
    assert m.receipt_request_of(1) == message_pb2.RECEIPT_REQUEST_ALL
    assert m.receipt_request_of(0x11) == message_pb2.RECEIPT_REQUEST_ALL  # other bits ignored
    assert m.receipt_request_of(2) == message_pb2.RECEIPT_REQUEST_FAILURES
    assert status_of(m.receipt_request_of, 3) == 0x07


def test_ptag_format() -> None:
    tlvs = Tlvs()
    assert m.ptag_of(tlvs) is None
    tlvs[RapportoTag.PTAG] = b"order-42\0"
    assert m.ptag_of(tlvs) == "order-42"
    tlvs[RapportoTag.PTAG] = b"bad tag!"
    assert status_of(m.ptag_of, tlvs) == 0x0C
    tlvs[RapportoTag.PTAG] = b"x" * 51
    assert status_of(m.ptag_of, tlvs) == 0x0C


def test_text_codings() -> None:
    assert m.text_of(0, b"Hi\x00") == "Hi@"
    assert m.text_of(3, "café".encode("latin-1")) == "café"
    assert m.text_of(8, "Привет 😀".encode("utf-16-be")) == "Привет 😀"
    assert status_of(m.text_of, 4, b"\x01\x02") == 0x45  # binary
    assert status_of(m.text_of, 0xF6, b"\x01") == 0x45  # GSM class, 8-bit data
    assert status_of(m.text_of, 8, b"\xd8\x00") == 0x45  # lone surrogate


def test_catalogue_reasons_map_to_smpp_statuses() -> None:
    assert m.status_for_reason("INVALID_DESTINATION") == 0x0B
    assert m.status_for_reason("THROTTLED") == 0x58
    assert m.status_for_reason("QUEUE_FULL") == 0x14
    assert m.status_for_reason("DUPLICATE_MESSAGE") == 0xAB
    assert m.status_for_reason("NO_SUCH_REASON") == 0x08


def _message(status: int, *times: int, error: int = 0) -> message_pb2.Message:
    return message_pb2.Message(
        status=status,  # type: ignore[arg-type]
        error_code=error,
        history=[status_pb2.StatusEvent(time=timestamp_pb2.Timestamp(seconds=t)) for t in times],
    )


def test_query_state_final_date_and_error() -> None:
    s = status_pb2
    assert m.message_state_of(s.MESSAGE_STATUS_ACCEPTED) == MessageState.ENROUTE
    assert m.message_state_of(s.MESSAGE_STATUS_SENT) == MessageState.ENROUTE
    assert m.message_state_of(s.MESSAGE_STATUS_DELIVERED) == MessageState.DELIVERED
    assert m.message_state_of(s.MESSAGE_STATUS_READ) == MessageState.DELIVERED
    assert m.message_state_of(s.MESSAGE_STATUS_UNDELIVERED) == MessageState.UNDELIVERABLE
    assert m.message_state_of(s.MESSAGE_STATUS_EXPIRED) == MessageState.EXPIRED
    assert m.message_state_of(s.MESSAGE_STATUS_REJECTED) == MessageState.REJECTED
    assert m.message_state_of(s.MESSAGE_STATUS_UNSPECIFIED) == MessageState.UNKNOWN
    done = int(dt.datetime(2026, 11, 26, 19, 52, 19, tzinfo=dt.UTC).timestamp())
    assert m.final_date_of(_message(s.MESSAGE_STATUS_SENT, done)) == ""
    delivered = _message(s.MESSAGE_STATUS_UNDELIVERED, done, done - 60, error=300)
    assert m.final_date_of(delivered) == "261126195219000+"
    assert m.error_code_of(delivered) == 0xFF
    assert (
        m.smpp_time(
            dt.datetime(2026, 1, 2, 6, 4, 5, 700_000, tzinfo=dt.timezone(dt.timedelta(hours=3)))
        )
        == "260102030405700+"
    )


def test_token_bucket() -> None:
    now = [0.0]
    bucket = TokenBucket(2, clock=lambda: now[0])
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    now[0] = 0.5
    assert [bucket.take(), bucket.take()] == [True, False]
    now[0] = 10
    assert [bucket.take() for _ in range(3)] == [True, True, False]  # burst stays at rate


class _Stub:
    def __init__(self, fail: BaseException | None = None) -> None:
        self.calls: list[ms.SubmitMessagesRequest] = []
        self.fail = fail
        self.gate: asyncio.Event | None = None  # when set, calls wait for it

    async def SubmitMessages(
        self,
        request: ms.SubmitMessagesRequest,
        timeout: float,  # noqa: ASYNC109 (gRPC)
    ) -> ms.SubmitMessagesResponse:
        self.calls.append(request)
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return ms.SubmitMessagesResponse(
            results=[ms.SubmitResult(message_id=str(i)) for i, _ in enumerate(request.messages)]
        )


async def test_coalescer_batches_per_partner_and_by_size() -> None:
    stub = _Stub()
    co = SubmitCoalescer(stub, max_batch=3, max_in_flight=1)  # type: ignore[arg-type]
    sub = ms.MessageSubmission(destination="79161234567")
    results = await asyncio.gather(*(co.submit("a", sub) for _ in range(4)), co.submit("b", sub))
    assert [r.message_id for r in results] == ["0", "1", "2", "0", "0"]
    assert [(c.partner, len(c.messages)) for c in stub.calls] == [("a", 3), ("b", 1), ("a", 1)]
    assert {c.request_id for c in stub.calls} == {""}  # never repeated: no key needed


async def test_coalescer_sends_at_once_when_idle_and_gathers_while_busy() -> None:
    stub = _Stub()
    stub.gate = asyncio.Event()
    co = SubmitCoalescer(stub, max_in_flight=1)  # type: ignore[arg-type]
    sub = ms.MessageSubmission(destination="79161234567")
    first = asyncio.ensure_future(co.submit("a", sub))
    for _ in range(5):  # a few loop turns, no time: no timer holds an idle partner's send
        await asyncio.sleep(0)
    assert [len(c.messages) for c in stub.calls] == [1]
    later = [asyncio.ensure_future(co.submit("a", sub)) for _ in range(5)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert len(stub.calls) == 1  # the first call still runs: the five wait for it
    stub.gate.set()
    await asyncio.gather(first, *later)
    assert [len(c.messages) for c in stub.calls] == [1, 5]
    await co.close()


async def test_coalescer_fails_every_caller_of_a_failed_call() -> None:
    co = SubmitCoalescer(_Stub(fail=RuntimeError("boom")))  # type: ignore[arg-type]
    sub = ms.MessageSubmission(destination="79161234567")
    outcomes = await asyncio.gather(
        co.submit("a", sub), co.submit("a", sub), return_exceptions=True
    )
    assert all(isinstance(o, RcsError) and o.reason == "INTERNAL" for o in outcomes)
    await co.close()


def test_an_sms_mo_carries_no_messenger_tlvs() -> None:
    (pdu,) = m.inbound_of(ms.Report(sender="79161234567", destination="4444", text="hi"), 1)
    assert dict(pdu.tlvs) == {}


def test_a_messenger_reply_names_its_channel_the_answered_message_and_its_media() -> None:
    report = ms.Report(
        sender="79161234567",
        destination="RCS",
        text="",
        channel=channel_pb2.CHANNEL_VIBER,
        media_url="https://v/фото.jpg",
        reply_to_message_id="1024000001",
        reply_to_client_ref="не ptag",
    )
    (pdu,) = m.inbound_of(report, 1)
    # A media-only reply's text is its link, so short_message alone still says something.
    assert pdu.short_message == "https://v/фото.jpg".encode("utf-16-be")
    assert pdu.tlvs.get_cstring(0x001E) == "1024000001"  # receipted_message_id
    assert pdu.tlvs.get_cstring(RapportoTag.MESSAGE_TYPE) == "VIBER"
    assert (
        pdu.tlvs.get_cstring(RapportoTag.VIBER_IMAGE_URL)
        == "https://v/%D1%84%D0%BE%D1%82%D0%BE.jpg"
    )
    assert RapportoTag.PTAG not in pdu.tlvs  # not a ptag's characters


def test_only_cascade_order_and_viber_tlvs_shape_a_submit_sm() -> None:
    # The gateway skips the cascade / Viber mapping for a submit_sm that shapes nothing.
    shapes_message = m.shapes_message
    assert not shapes_message(Tlvs())
    assert not shapes_message(Tlvs({int(Tag.SAR_MSG_REF_NUM): b"\x00\x01"}))
    assert shapes_message(Tlvs({int(RapportoTag.CASCADE_ORDER): b"I,S\x00"}))
    for tag in m.VIBER_TLVS:
        assert shapes_message(Tlvs({int(Tag.SAR_MSG_REF_NUM): b"\x00\x01", int(tag): b"x\x00"}))
