"""Kill -9 of core or dispatcher during traffic: every id returned before the kill reaches a
final status, and the operator sees a message twice only if it was in flight at the kill."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest

from rcs.common.v1 import channel_pb2, message_pb2, status_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import message_service_pb2_grpc
from tests.e2e.installation import FINAL, Installation

pytestmark = pytest.mark.e2e
# RCS_DISPATCHER_WORKERS × RCS_DISPATCHER_BATCH: the most a crash can leave in flight.
IN_FLIGHT_BOUND = 2 * 25


async def _submit_traffic(target: str, stop_at: float, accepted: list[str]) -> None:
    """Submit batches of uniquely worded messages until stop_at; keep only returned ids."""
    n = 0
    async with grpc.aio.insecure_channel(target) as ch:
        stub = message_service_pb2_grpc.MessageServiceStub(ch)
        while time.monotonic() < stop_at:
            batch = [
                ms.MessageSubmission(
                    destination=f"7916{(n + i) % 10**7:07d}",
                    channel=channel_pb2.CHANNEL_SMS,
                    sms=message_pb2.SmsContent(text=f"crash test {n + i}", sender="RCS"),
                )
                for i in range(50)
            ]
            n += len(batch)
            try:
                resp = await stub.SubmitMessages(
                    ms.SubmitMessagesRequest(partner="demo", messages=batch), timeout=5
                )
            except grpc.aio.AioRpcError:
                await asyncio.sleep(0.2)  # core is down: these were never acknowledged
                continue
            accepted.extend(r.message_id for r in resp.results)
            await asyncio.sleep(0.1)


async def _statuses(stub: message_service_pb2_grpc.MessageServiceAsyncStub) -> dict[str, int]:
    states: dict[str, int] = {}
    token = ""
    while True:
        page = await stub.ListMessages(
            ms.ListMessagesRequest(partner="demo", page_size=1000, page_token=token), timeout=10
        )
        states.update((m.id, m.status) for m in page.messages)
        token = page.next_page_token
        if not token:
            return states


async def _wait_final(target: str, ids: list[str], within: float) -> dict[str, int]:
    deadline = time.monotonic() + within
    states: dict[str, int] = {}
    async with grpc.aio.insecure_channel(target) as ch:
        stub = message_service_pb2_grpc.MessageServiceStub(ch)
        while time.monotonic() < deadline:
            try:
                states = await _statuses(stub)
            except grpc.aio.AioRpcError:
                await asyncio.sleep(0.5)
                continue
            if all(states.get(m) in FINAL for m in ids):
                break
            await asyncio.sleep(0.5)
    return states


@pytest.mark.parametrize("victim", ["dispatcher", "core"])
@pytest.mark.smsc(receipt_delay_min_ms=0, receipt_delay_max_ms=50)
async def test_kill_minus_nine_loses_nothing_and_duplicates_only_in_flight(
    installation: Installation, victim: str
) -> None:
    installation.start("routing", "simulator", "connector", "core", "dispatcher")
    installation.wait_ready()
    target = f"127.0.0.1:{installation.ports['core']}"
    accepted: list[str] = []
    traffic = asyncio.create_task(_submit_traffic(target, time.monotonic() + 4, accepted))
    await asyncio.sleep(2)
    installation.kill(victim)
    killed_with = len(accepted)
    await asyncio.sleep(1)
    installation.start(victim)
    await traffic
    assert killed_with > 0
    states = await _wait_final(target, accepted, within=60)
    not_final = [m for m in accepted if states.get(m) not in FINAL]
    assert not not_final, (len(not_final), installation.logs())
    assert {states[m] for m in accepted} == {status_pb2.MESSAGE_STATUS_DELIVERED}
    stats = installation.smsc_stats()
    assert stats["unique_parts"] == len(accepted)
    assert stats["duplicate_parts"] <= IN_FLIGHT_BOUND, stats
    print(f"{victim} killed: {len(accepted)} accepted, {stats['duplicate_parts']} resent")
