"""A Viber → WhatsApp → SMS cascade over real sockets where neither messenger ever
confirms: Viber's message expires at its ttl (the simulator's "expired" callback), the
WhatsApp message is sent and stays "sent", and the SMS is delivered. One report per link.

WhatsApp's shortest ttl is a day (rest_whatsapp.rst), which a test does not wait: once the
WhatsApp link is sent, the test moves its cascade's deadline to now, as the day passing
would; everything else (the expiry of the link, the SMS, the reports) is the engine's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.e2e.installation import Installation, wait_until
from tests.e2e.push_stand_in import ReportSink
from tests.e2e.test_viber import (
    TOKEN,
    Viber,
    _listening,
    _ports,
    reports,
    rows,
    send,
    v6_send,
    viber_message,
)
from tests.e2e.test_whatsapp import WhatsApp, whatsapp_env, whatsapp_message

pytestmark = pytest.mark.e2e
NOBODY = "79170000031"  # silent on Viber and on WhatsApp


@pytest.fixture
async def rig(
    installation: Installation,
) -> AsyncIterator[tuple[Installation, Viber, WhatsApp, ReportSink]]:
    sink = ReportSink()
    await sink.start()
    grpc_port, webhook_port, viber_port, wa_port = _ports(installation, 4)
    installation.extra_env.update(
        {
            "RCS_MESSENGERS_TARGET": f"127.0.0.1:{grpc_port}",
            "RCS_MESSENGERS_INTERFACE_ID": "messengers-main",
            "RCS_MESSENGERS_BIND": f"127.0.0.1:{grpc_port}",
            "RCS_MESSENGERS_WEBHOOK_PORT": str(webhook_port),
            "RCS_VIBER_API_URL": f"http://127.0.0.1:{viber_port}",
            "RCS_VIBER_AUTH_TOKEN": TOKEN,
            "RCS_VIBER_SIM_PORT": str(viber_port),
            "RCS_VIBER_SIM_AUTH_TOKEN": TOKEN,
            "RCS_VIBER_SIM_WEBHOOK_URL": f"http://127.0.0.1:{webhook_port}/viber/webhook",
            "RCS_VIBER_SIM_OUTCOMES": f"{NOBODY}=silent",
            **whatsapp_env(webhook_port, wa_port),
            "RCS_WHATSAPP_SIM_OUTCOMES": f"{NOBODY}=silent",
            "RCS_WHATSAPP_SIM_OPEN_SESSIONS": NOBODY,
            "RCS_CASCADE_POLL_SECONDS": "0.5",
            "RCS_REPORT_RETRY_BASE_SECONDS": "0.5",
        }
    )
    try:
        installation.start()
        installation.start("viber-simulator", "whatsapp-simulator", "messengers")
        await asyncio.to_thread(installation.wait_ready, 120)
        for port in (viber_port, wa_port, webhook_port, grpc_port):
            assert await wait_until(lambda p=port: _listening(p), within=30), installation.logs()
        yield (
            installation,
            Viber(viber_port, webhook_port),
            WhatsApp(wa_port, webhook_port),
            sink,
        )
    finally:
        await sink.stop()


async def test_viber_then_whatsapp_never_confirmed_end_as_one_delivered_sms(
    rig: tuple[Installation, Viber, WhatsApp, ReportSink],
) -> None:
    inst, viber, wa, sink = rig
    doc = v6_send(NOBODY, viber_message("TEXT", {"text": "код 1234"}, ttl=30), sink, "vw-1")
    doc["cascadeChainLink"] = {
        "state": "DELIVERED",
        "message": whatsapp_message("TEXT", {"text": "код 1234"}, ttl=1440),
        "nextLink": {
            "state": "DELIVERED",
            "message": {
                "type": "SMS",
                "data": {"text": "код 1234", "serviceNumber": "RCS", "ttl": 2},
            },
        },
    }
    code, answer = await send(inst, doc)
    assert code == 200, answer
    cascade = int(answer["mtNum"])

    async def links() -> list[tuple[int, int, int]]:
        found = await rows(
            inst,
            "SELECT channel, status, error_code FROM messages WHERE cascade_id = %s"
            " ORDER BY created_at, id",
            cascade,
        )
        return [(int(a), int(b), int(c)) for a, b, c in found]

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 90
    # Viber expires at its 30 s; the WhatsApp link starts and is sent, then stays silent.
    while not await wa.get("/sim/messages"):
        assert loop.time() < deadline, (await links(), inst.logs())
        await asyncio.sleep(0.5)
    await asyncio.sleep(1)
    assert (await links())[0] == (3, 5, 7)
    # A day passes for the WhatsApp link (see the module's docstring).
    await rows(
        inst,
        "UPDATE cascades SET deadline = now(), due_at = now() WHERE id = %s RETURNING id",
        cascade,
    )
    while len(await links()) < 3 or (await links())[2][1] != 3:
        assert loop.time() < deadline, (await links(), inst.logs())
        await asyncio.sleep(0.5)
    await asyncio.sleep(2)
    found = await links()
    assert [(ch, st) for ch, st, _ in found] == [(3, 5), (4, 5), (1, 3)], found
    (final,) = await rows(inst, "SELECT final_status FROM cascades WHERE id = %s", cascade)
    assert final == (3,)
    assert [m["receiver"] for m in await viber.get("/sim/messages")] == [NOBODY]
    assert [m["to"] for m in await wa.get("/sim/messages")] == [NOBODY]

    assert await wait_until(lambda: len(reports(sink, str(cascade))) >= 3, within=15), sink.reports
    await asyncio.sleep(2)  # a second report for a link would come by now
    got = sorted(reports(sink, str(cascade)))
    assert [(t, s) for t, s, _ in got] == [("SMS", 2), ("VIBER", 5), ("WHATSAPP", 5)], got
