"""Provider routing per messenger channel (issue 17, Deliver 4) over real sockets: two Viber
provider interfaces configured as settings (each its own account, token and simulator),
the first by priority failing with HTTP 500 — the message goes through the second, is sent
once, and its delivered and read reports reach the partner, the second account's signed
callbacks taken by the messenger service's webhook."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from rcs.common.v1 import channel_pb2
from rcs.core.v1 import settings_service_pb2 as ss
from rcs.core.v1 import settings_service_pb2_grpc
from rcs_runtime.grpc_client import open_channel
from tests.e2e.installation import Installation, wait_until
from tests.e2e.push_stand_in import ReportSink
from tests.e2e.test_viber import Viber, _listening, _ports, reports, rows, send, v6_send
from tests.e2e.test_viber import viber_message as viber

pytestmark = pytest.mark.e2e
NUMBER = "79170000011"


@pytest.fixture
async def rig(
    installation: Installation,
) -> AsyncIterator[tuple[Installation, Viber, Viber, ReportSink]]:
    sink = ReportSink()
    await sink.start()
    grpc_port, webhook_port, env_sim, sim_a, sim_b = _ports(installation, 5)
    webhook = f"http://127.0.0.1:{webhook_port}/viber/webhook"
    installation.extra_env.update(
        {
            "RCS_MESSENGERS_TARGET": f"127.0.0.1:{grpc_port}",
            "RCS_MESSENGERS_INTERFACE_ID": "messengers",
            "RCS_MESSENGERS_BIND": f"127.0.0.1:{grpc_port}",
            "RCS_MESSENGERS_WEBHOOK_PORT": str(webhook_port),
            # The service's own account (used when no interface is configured): nobody there.
            "RCS_VIBER_API_URL": f"http://127.0.0.1:{env_sim}",
            "RCS_VIBER_AUTH_TOKEN": "env-token",
            "RCS_VIBER_SIM_WEBHOOK_URL": webhook,
            "RCS_REPORT_RETRY_BASE_SECONDS": "0.5",
            "RCS_RETRY_BASE_SECONDS": "0.5",
        }
    )
    try:
        installation.start()
        installation.start("messengers")
        for label, port, token, outcome in (
            ("viber-a", sim_a, "token-a", "error"),
            ("viber-b", sim_b, "token-b", "read"),
        ):
            installation.start_as(
                label,
                "viber-simulator",
                {
                    "RCS_VIBER_SIM_PORT": str(port),
                    "RCS_VIBER_SIM_AUTH_TOKEN": token,
                    "RCS_VIBER_SIM_DEFAULT_OUTCOME": outcome,
                },
            )
        await asyncio.to_thread(installation.wait_ready, 120)
        for port in (sim_a, sim_b, webhook_port, grpc_port):
            assert await wait_until(lambda p=port: _listening(p), within=30), installation.logs()
        yield installation, Viber(sim_a, webhook_port), Viber(sim_b, webhook_port), sink
    finally:
        await sink.stop()


async def put_interfaces(inst: Installation, sim_a: str, sim_b: str) -> None:
    channel = open_channel(f"127.0.0.1:{inst.ports['core']}")
    stub = settings_service_pb2_grpc.SettingsServiceStub(channel)
    try:
        for id_, priority, url, token in (
            ("viber-a", 1, sim_a, "token-a"),
            ("viber-b", 2, sim_b, "token-b"),
        ):
            await stub.PutMessengerInterface(
                ss.PutMessengerInterfaceRequest(
                    actor=ss.Actor(login="e2e"),
                    messenger_interface=ss.MessengerInterface(
                        id=id_,
                        channel=channel_pb2.CHANNEL_VIBER,
                        priority=priority,
                        enabled=True,
                        api_url=url,
                        token=token,
                    ),
                ),
                timeout=10,
            )
    finally:
        await channel.close()


async def test_a_failing_viber_interface_passes_the_message_to_the_next_sent_once(
    rig: tuple[Installation, Viber, Viber, ReportSink],
) -> None:
    inst, viber_a, viber_b, sink = rig
    await put_interfaces(inst, viber_a.sim, viber_b.sim)
    # The messenger service picks the interfaces up at its next look at the revision.
    log = inst.log_dir / "messengers.log"

    def synced() -> bool:
        return any(
            "messenger_interfaces_synced" in line and "viber-b" in line
            for line in log.read_text(errors="replace").splitlines()
        )

    assert await wait_until(synced, within=20), inst.logs()
    code, answer = await send(inst, v6_send(NUMBER, viber("TEXT", {"text": "hi"}), sink, "f-1"))
    assert code == 200, answer
    mt_num = str(answer["mtNum"])

    def done() -> bool:
        return len(reports(sink, mt_num)) >= 2

    assert await wait_until(done, within=40), (sink.reports, inst.logs())
    assert reports(sink, mt_num) == [("VIBER", 2, "0"), ("VIBER", 9, "0")]
    assert await viber_a.get("/sim/messages") == []  # it answered 500: nothing sent there
    (got,) = await viber_b.get("/sim/messages")  # sent once, through the second
    assert (got["receiver"], got["tracking_data"]) == (NUMBER, mt_num)
    assert await rows(inst, "SELECT interface_id FROM messages WHERE id = %s", int(mt_num)) == [
        ("viber-b",)
    ]
    assert "messenger_interface_failover" in log.read_text(errors="replace")
