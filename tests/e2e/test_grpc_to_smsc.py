"""gRPC submit → core → dispatcher → routing → connector → SMSC simulator → receipt, with
every component a real process on real sockets."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from rcs.common.v1 import channel_pb2, message_pb2, status_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import message_service_pb2_grpc
from tests.e2e.installation import FINAL, Installation

pytestmark = pytest.mark.e2e


def submission(i: int, text: str | None = None) -> ms.MessageSubmission:
    return ms.MessageSubmission(
        destination=f"7916{i:07d}",
        channel=channel_pb2.CHANNEL_SMS,
        sms=message_pb2.SmsContent(text=text or f"e2e message {i}", sender="RCS"),
    )


async def statuses(stub: Any, ids: list[str]) -> dict[str, Any]:
    out = {}
    for mid in ids:
        out[mid] = (await stub.GetMessage(ms.GetMessageRequest(message_id=mid))).message
    return out


@pytest.mark.smsc(id_format="mixed")
async def test_messages_reach_the_operator_and_come_back_delivered(
    installation: Installation,
) -> None:
    installation.start("routing", "simulator", "connector", "core", "dispatcher")
    installation.wait_ready()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{installation.ports['core']}") as ch:
        stub = message_service_pb2_grpc.MessageServiceStub(ch)
        long_text = "Длинное сообщение по-русски. " * 6  # UCS-2, 3 parts
        resp = await stub.SubmitMessages(
            ms.SubmitMessagesRequest(
                partner="demo",
                messages=[submission(i) for i in range(20)] + [submission(99, long_text)],
            )
        )
        ids = [r.message_id for r in resp.results]

        async def all_delivered() -> bool:
            got = await statuses(stub, ids)
            return all(m.status == status_pb2.MESSAGE_STATUS_DELIVERED for m in got.values())

        for _ in range(300):  # a liveness bound, generous for a loaded CI machine
            if await all_delivered():
                break
            await asyncio.sleep(0.1)
        got = await statuses(stub, ids)
    assert {m.status for m in got.values()} == {status_pb2.MESSAGE_STATUS_DELIVERED}, (
        installation.logs()
    )
    long_message = got[ids[-1]]
    assert long_message.part_count == 3
    assert [h.status for h in long_message.history] == [
        status_pb2.MESSAGE_STATUS_ACCEPTED,
        status_pb2.MESSAGE_STATUS_SENT,
        status_pb2.MESSAGE_STATUS_DELIVERED,
    ]
    stats = installation.smsc_stats()
    assert stats["submits"] == 23
    assert stats["duplicate_parts"] == 0


@pytest.mark.smsc(outcomes="undelivered:8=1,expired=1,rejected:13=1")
async def test_failed_outcomes_carry_the_extended_error_code(installation: Installation) -> None:
    installation.start("routing", "simulator", "connector", "core", "dispatcher")
    installation.wait_ready()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{installation.ports['core']}") as ch:
        stub = message_service_pb2_grpc.MessageServiceStub(ch)
        resp = await stub.SubmitMessages(
            ms.SubmitMessagesRequest(partner="demo", messages=[submission(i) for i in range(30)])
        )
        ids = [r.message_id for r in resp.results]
        got: dict[str, Any] = {}
        for _ in range(100):
            got = await statuses(stub, ids)
            if all(m.status in FINAL for m in got.values()):
                break
            await asyncio.sleep(0.1)
    outcomes = {(m.status, m.error_code) for m in got.values()}
    assert outcomes <= {
        (status_pb2.MESSAGE_STATUS_UNDELIVERED, 8),
        (status_pb2.MESSAGE_STATUS_EXPIRED, 7),
        (status_pb2.MESSAGE_STATUS_REJECTED, 13),
    }, outcomes
    assert len(outcomes) == 3  # 30 draws from three equal weights
