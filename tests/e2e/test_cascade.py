"""Cascades push → SMS over real sockets: every RCS process real (core, dispatcher with the
cascade engine, routing, connector, SMSC simulator, REST gateway), rpns played by
tests/e2e/push_stand_in.py. The push link's validity is 30 s (rest_push.rst's minimum), so
each test runs its cascades side by side and waits for that once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from tests.e2e.installation import Installation, http, wait_until
from tests.e2e.push_stand_in import Device, PushStandIn, ReportSink, start_push

pytestmark = pytest.mark.e2e
PUSH_TTL = 30


@pytest.fixture
async def rig(
    installation: Installation,
) -> AsyncIterator[tuple[Installation, PushStandIn, ReportSink]]:
    push, server = await start_push(f"127.0.0.1:{installation.ports['core']}")
    sink = ReportSink()
    await sink.start()
    installation.extra_env.update(
        {
            "RCS_PUSH_TARGET": f"127.0.0.1:{server.port}",
            "RCS_PUSH_INTERFACE_ID": "rpns",
            "RCS_CASCADE_POLL_SECONDS": "0.5",
            "RCS_REPORT_RETRY_BASE_SECONDS": "0.5",
        }
    )
    try:
        installation.start()
        await asyncio.to_thread(installation.wait_ready, 120)
        yield installation, push, sink
    finally:
        await sink.stop()
        await server.stop(0)


def v6_cascade(number: str, sink: ReportSink, ref: str, state: str = "DELIVERED") -> dict[str, Any]:
    """rest_cascade.rst's "Push > SMS" example, with our number and report URL."""
    return {
        "login": "demo",
        "password": "demo",
        "id": ref,
        "destAddr": number,
        "registeredDelivery": 1,
        "notifyUrl": sink.url(),
        "message": {
            "type": "PUSH",
            "data": {
                "title": "Заголовок Push-сообщения",
                "text": "Текст уведомления",
                "serviceNumber": "RCS",
                "ttl": PUSH_TTL,
                "ttlUnit": "SECONDS",
            },
        },
        "cascadeChainLink": {
            "state": state,
            "message": {
                "type": "SMS",
                "data": {
                    "text": "Текст доотправляемого SMS-сообщения",
                    "serviceNumber": "RCS",
                    "ttl": 2,
                },
            },
        },
    }


async def rows(inst: Installation, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(inst.database_url) as conn:
        cur = await conn.execute(sql, args)
        return list(await cur.fetchall())


async def links_of(inst: Installation, cascade: str) -> list[tuple[int, int, int]]:
    """(channel, status, error_code) of each link's message, in order."""
    found = await rows(
        inst,
        "SELECT channel, status, error_code FROM messages WHERE cascade_id = %s ORDER BY id",
        int(cascade),
    )
    return [(int(a), int(b), int(c)) for a, b, c in found]


async def outcome(inst: Installation, cascade: str) -> tuple[Any, ...]:
    (row,) = await rows(
        inst, "SELECT final_status, final_error, link_no FROM cascades WHERE id = %s", int(cascade)
    )
    return row


async def send(inst: Installation, doc: dict[str, Any]) -> str:
    status, answer = await asyncio.to_thread(http, "POST", inst.url("/api/v6/send"), doc)
    assert status == 200, answer
    return str(answer["mtNum"])


async def test_rest_v6_push_then_sms_cascades(
    rig: tuple[Installation, PushStandIn, ReportSink],
) -> None:
    inst, push, sink = rig
    silent, confirmed, late, read = "79160000001", "79160000002", "79160000003", "79160000004"
    push.devices[silent] = Device("silent")
    push.devices[confirmed] = Device("delivered", 0.3)
    push.devices[late] = Device("delivered", PUSH_TTL + 6)
    push.devices[read] = Device("read", 0.3)
    ids = {
        n: await send(inst, v6_cascade(n, sink, f"c-{n}", "READ" if n == read else "DELIVERED"))
        for n in (silent, confirmed, late, read)
    }

    async def settled() -> bool:
        for n in (silent, late):
            links = await links_of(inst, ids[n])
            if len(links) < 2 or links[1][1] != 3:
                return False
        return True

    deadline = asyncio.get_running_loop().time() + PUSH_TTL + 25
    while not await settled():
        assert asyncio.get_running_loop().time() < deadline, inst.logs()
        await asyncio.sleep(0.5)
    # The late device confirms 6 s after the push's validity ended: its receipt must not
    # send a second SMS nor change the outcome.
    await wait_until(lambda: (late, 3) in push.receipts, within=15)
    await asyncio.sleep(2)

    # Never confirmed: the push expired at its TTL (code 7), the SMS went and was delivered.
    assert await links_of(inst, ids[silent]) == [(2, 5, 7), (1, 3, 0)]
    assert (await outcome(inst, ids[silent]))[:2] == (3, 0)
    # Confirmed in time: the cascade ends DELIVERED with the push; no SMS.
    assert await links_of(inst, ids[confirmed]) == [(2, 3, 0)]
    assert (await outcome(inst, ids[confirmed]))[:2] == (3, 0)
    # Read in time on a READ link: READ, no SMS.
    assert await links_of(inst, ids[read]) == [(2, 7, 0)]
    assert (await outcome(inst, ids[read]))[:2] == (7, 0)
    # Late receipt: the push stays EXPIRED, one SMS, one outcome (the SMS's).
    assert await links_of(inst, ids[late]) == [(2, 5, 7), (1, 3, 0)]
    assert (await outcome(inst, ids[late]))[:3] == (3, 0, 1)
    assert sum(m.destination == late for m in push.sent) == 1

    # Reports, as registeredDelivery=1 promises: one per link's final status (READ after
    # DELIVERED is reported too), each under the cascade's mtNum with the link's type.
    def reports(n: str) -> list[tuple[str, int, str]]:
        return [(r["type"], r["status"], r["errorCode"]) for r in sink.of("mtNum", ids[n])]

    def complete() -> bool:
        return len(reports(silent)) >= 2 and len(reports(late)) >= 2 and len(reports(read)) >= 2

    assert await wait_until(complete, within=15), sink.reports
    assert sorted(reports(silent)) == [("PUSH", 5, "7"), ("SMS", 2, "0")]
    assert sorted(reports(late)) == [("PUSH", 5, "7"), ("SMS", 2, "0")]
    assert reports(confirmed) == [("PUSH", 2, "0")]
    assert reports(read) == [("PUSH", 2, "0"), ("PUSH", 9, "0")]
    assert all(r["id"] == f"c-{r['destAddr']}" for r in sink.reports)
