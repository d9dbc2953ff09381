"""The SMSC simulator keeps the receipts it owes in its journal (RCS_SMSC_STATE_FILE):
killed with receipts still to send, it sends them after its restart, so no message is
left SENT for want of a receipt the operator already owed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import grpc
import pytest

from rcs.common.v1 import channel_pb2, message_pb2, status_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import message_service_pb2_grpc
from tests.e2e.installation import Installation, wait_until
from tests.e2e.test_crash_recovery import _wait_final

pytestmark = pytest.mark.e2e
COUNT = 40


@pytest.mark.smsc(receipt_delay_min_ms=3000, receipt_delay_max_ms=4000)
async def test_a_killed_simulator_sends_the_receipts_it_owed_after_its_restart(
    installation: Installation, tmp_path: Path
) -> None:
    journal = tmp_path / "smsc-owed.jsonl"
    installation.extra_env["RCS_SMSC_STATE_FILE"] = str(journal)
    installation.start("routing", "simulator", "connector", "core", "dispatcher")
    installation.wait_ready(60)
    target = f"127.0.0.1:{installation.ports['core']}"
    async with grpc.aio.insecure_channel(target) as ch:
        answer = await message_service_pb2_grpc.MessageServiceStub(ch).SubmitMessages(
            ms.SubmitMessagesRequest(
                partner="demo",
                messages=[
                    ms.MessageSubmission(
                        destination=f"7916{n:07d}",
                        channel=channel_pb2.CHANNEL_SMS,
                        sms=message_pb2.SmsContent(text=f"owed {n}", sender="RCS"),
                    )
                    for n in range(COUNT)
                ],
            ),
            timeout=10,
        )
    ids = [r.message_id for r in answer.results]
    # Every message reached the simulator, no receipt has left it yet (3-4 s delay).
    assert await wait_until(lambda: installation.smsc_stats()["submits"] >= COUNT, within=20)
    assert installation.smsc_stats()["receipts_sent"] == 0
    installation.kill("simulator")
    started = time.monotonic()
    installation.start("simulator")
    states = await _wait_final(target, ids, within=60)
    assert {states.get(m) for m in ids} == {status_pb2.MESSAGE_STATUS_DELIVERED}, (
        installation.logs()
    )
    assert installation.smsc_stats()["receipts_acked"] >= COUNT
    print(f"{COUNT} owed receipts delivered {time.monotonic() - started:.1f} s after restart")
    # Taken receipts are settled in the journal: a further restart owes nothing.
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    owed = {e["owed"]["message_id"] for e in entries if "owed" in e}
    paid = {e["paid"] for e in entries if "paid" in e}
    assert len(owed) == COUNT
    assert owed == paid
