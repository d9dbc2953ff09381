"""Every accepted SMPP message's receipt reaches the ESME across a kill -9 of the SMPP gateway
and the ESME's reconnects: the whole installation as processes, the simulator as operator."""

from __future__ import annotations

import asyncio
import time

import pytest

from rcs_smpp.pdu import BindReceiver, BindTransceiver, DeliverSm, DeliverSmResp, Pdu, SubmitSm
from rcs_smpp.session import SmppSession
from tests.conftest import free_port
from tests.e2e.installation import Installation, wait_until

pytestmark = pytest.mark.e2e
TOTAL = 300


class Receipts:
    def __init__(self) -> None:
        self.ids: list[str] = []
        self.answer = True  # False: read receipts and never answer (a stuck or dying ESME)

    async def on_request(self, pdu: Pdu) -> Pdu | None:
        if not isinstance(pdu, DeliverSm):
            return None
        self.ids.append(pdu.tlvs.receipted_message_id or "")
        if not self.answer:
            await asyncio.sleep(3600)  # the session closes first
        return DeliverSmResp()


async def _bind(port: int, receipts: Receipts, *, receiver: bool = False) -> SmppSession:
    deadline = time.monotonic() + 20
    while True:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
    session = SmppSession(reader, writer, receipts.on_request, window=50, name="esme")
    session.start()
    bind = BindReceiver if receiver else BindTransceiver
    resp = await session.send_request(bind(system_id="demo", password="demo"))
    assert resp.command_status == 0
    return session


async def _submit(session: SmppSession, n: int) -> str:
    resp = await session.send_request(
        SubmitSm(
            source_addr="RCS",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr=f"7916{n:07d}",
            short_message=f"restart {n}".encode(),
            registered_delivery=1,
        )
    )
    assert resp.command_status == 0
    return str(getattr(resp, "message_id", ""))


@pytest.mark.smsc(receipt_delay_min_ms=200, receipt_delay_max_ms=1500)
async def test_receipts_survive_gateway_kill_and_esme_reconnects(
    installation: Installation,
) -> None:
    port = free_port()
    installation.extra_env.update(
        {"RCS_SMPP_PORT": str(port), "RCS_SMPP_RECEIPT_LEASE_SECONDS": "2"}
    )
    installation.start("routing", "simulator", "connector", "core", "dispatcher", "smpp")
    installation.wait_ready()
    first = Receipts()
    first.answer = False  # takes receipts and dies with them unanswered
    esme = await _bind(port, first)
    accepted = await asyncio.gather(*(_submit(esme, n) for n in range(TOTAL)))
    assert len(set(accepted)) == TOTAL
    assert await wait_until(lambda: first.ids, within=30)  # receipts are flowing
    installation.kill("smpp")
    await esme.close()
    installation.start("smpp")
    second = Receipts()
    flaky = await _bind(port, second, receiver=True)
    await asyncio.sleep(1)
    await flaky.close()  # the ESME drops once more, mid-stream
    third = Receipts()
    steady = await _bind(port, third, receiver=True)
    await wait_until(lambda: set(accepted) <= set(second.ids + third.ids), within=60)
    missing = set(accepted) - set(second.ids + third.ids)
    assert not missing, (len(missing), installation.logs())
    await steady.unbind()
