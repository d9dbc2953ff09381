"""kill -9 of core and of the dispatcher (which runs the cascade engine) in the middle of
push → SMS cascades, around the pushes' deadlines: after the restarts every cascade ends
with exactly one final outcome, and no link is started twice (docs/invariants.md, "Cascades")."""

from __future__ import annotations

import asyncio
import random

import grpc
import psycopg
import pytest
from google.protobuf import duration_pb2

from rcs.common.v1 import channel_pb2, message_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import message_service_pb2_grpc
from tests.e2e.installation import Installation
from tests.e2e.push_stand_in import Device, start_push

pytestmark = pytest.mark.e2e
PUSH_TTL = 30
CASCADES = 24


def cascade(number: str, n: int) -> ms.MessageSubmission:
    return ms.MessageSubmission(
        client_ref=f"crash-{n}",
        destination=number,
        channel=channel_pb2.CHANNEL_PUSH,
        push=message_pb2.PushContent(text=f"push {n}", service_number="RCS"),
        ttl=duration_pb2.Duration(seconds=PUSH_TTL),
        cascade=[
            ms.CascadeLink(
                state=ms.CASCADE_STATE_DELIVERED,
                channel=channel_pb2.CHANNEL_SMS,
                sms=message_pb2.SmsContent(text=f"sms {n}", sender="RCS"),
                ttl=duration_pb2.Duration(seconds=600),
            )
        ],
    )


async def test_cascades_end_once_across_kill_9_of_core_and_dispatcher(
    installation: Installation,
) -> None:
    core = f"127.0.0.1:{installation.ports['core']}"
    push, server = await start_push(core)
    rnd = random.Random(16)
    numbers = [f"791620000{n:02d}" for n in range(CASCADES)]
    for n, number in enumerate(numbers):
        if n % 3 == 0:
            push.devices[number] = Device("silent")
        elif n % 3 == 1:
            push.devices[number] = Device("delivered", rnd.uniform(0.5, 5))
        else:  # confirmed around the deadline: the receipt races the timer
            push.devices[number] = Device("delivered", PUSH_TTL + rnd.uniform(-3, 3))
    installation.extra_env.update(
        {"RCS_PUSH_TARGET": f"127.0.0.1:{server.port}", "RCS_CASCADE_POLL_SECONDS": "0.5"}
    )
    ids: list[str] = []
    try:
        installation.start("routing", "simulator", "connector", "core", "dispatcher")
        await asyncio.to_thread(installation.wait_ready, 120)
        async with grpc.aio.insecure_channel(core) as ch:
            stub = message_service_pb2_grpc.MessageServiceStub(ch)
            for n, number in enumerate(numbers):
                resp = await stub.SubmitMessages(
                    ms.SubmitMessagesRequest(partner="demo", messages=[cascade(number, n)]),
                    timeout=10,
                )
                assert not resp.results[0].HasField("error"), resp
                ids.append(resp.results[0].message_id)
        await asyncio.sleep(2)
        installation.kill("core")  # receipts of the early confirmations now wait in rpns
        await asyncio.sleep(2)
        installation.start("core")
        await asyncio.sleep(PUSH_TTL - 8)  # into the deadlines and the racing receipts
        installation.kill("dispatcher")
        await asyncio.sleep(1.5)
        installation.kill("core")
        await asyncio.sleep(1.5)
        installation.start("core", "dispatcher")

        async def finished() -> int:
            async with await psycopg.AsyncConnection.connect(installation.database_url) as conn:
                cur = await conn.execute(
                    "SELECT count(*) FROM cascades WHERE final_status IS NOT NULL"
                )
                row = await cur.fetchone()
                return int(row[0]) if row else 0

        deadline = asyncio.get_running_loop().time() + 150
        while await finished() < CASCADES:
            assert asyncio.get_running_loop().time() < deadline, installation.logs()
            await asyncio.sleep(1)
        await asyncio.sleep(3)  # late receipts and timers, if any were to misbehave
    finally:
        await server.stop(0)

    async with await psycopg.AsyncConnection.connect(installation.database_url) as conn:
        cur = await conn.execute(
            "SELECT c.id, c.final_status, c.link_no, count(m.id),"
            " count(m.id) FILTER (WHERE m.channel = 1),"
            " array_agg(m.status ORDER BY m.created_at, m.id)"
            " FROM cascades c JOIN messages m ON m.cascade_id = c.id GROUP BY c.id"
        )
        rows = {str(r[0]): r[1:] for r in await cur.fetchall()}
        cur = await conn.execute(
            "SELECT e.message_id, count(*) FROM status_events e"
            " JOIN messages m ON m.id = e.message_id AND m.cascade_id IS NOT NULL"
            " WHERE e.status IN (3, 4, 5, 6) GROUP BY e.message_id HAVING count(*) > 1"
        )
        twice = await cur.fetchall()
    assert sorted(rows) == sorted(ids)
    for mt, (final, link_no, links, sms, statuses) in rows.items():
        # One final outcome, set; the links started are exactly link_no + 1, one SMS at most.
        assert final in (3, 4, 5, 6, 7), (mt, final)
        assert links == link_no + 1, (mt, link_no, links)
        assert sms <= 1, (mt, sms)
        if sms:  # the push failed or timed out first; the SMS is the outcome
            assert statuses[0] in (4, 5, 6), (mt, statuses)
            assert final == statuses[1], (mt, statuses, final)
        else:
            assert final == statuses[0] == 3, (mt, statuses, final)
    assert twice == [], "a link got two final statuses"
    silent = [ids[n] for n in range(CASCADES) if n % 3 == 0]
    assert all(rows[mt][3] == 1 for mt in silent)  # never confirmed → the SMS went
    # Pushes handed to rpns twice only when a dispatcher died between rpns's answer and
    # its commit: the in-flight window of docs/invariants.md.
    sent = [m.destination for m in push.sent]
    assert all(sent.count(number) <= 2 for number in numbers)
