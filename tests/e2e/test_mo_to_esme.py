"""A subscriber's message end to end: the operator simulator sends it (long: parts joined by
UDH) → connector → core joins, routes it by number and keyword → the SMPP gateway hands it
to the owning partner's receiver as deliver_sm, over real sockets and processes."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.request

import pytest

from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import settings_service_pb2 as ss
from rcs.core.v1 import settings_service_pb2_grpc
from rcs_runtime.grpc_client import open_channel
from rcs_smpp.encoding import decode_text
from rcs_smpp.pdu import BindReceiver, DeliverSm, DeliverSmResp, Pdu
from rcs_smpp.reassembly import parse_user_data
from rcs_smpp.session import SmppSession
from tests.conftest import free_port
from tests.e2e.installation import Installation, wait_until

pytestmark = pytest.mark.e2e


async def _route(inst: Installation) -> None:
    """The demo partner owns 4444, put through core's SettingsService as an operator would."""
    channel = open_channel(f"127.0.0.1:{inst.ports['core']}")
    try:
        await settings_service_pb2_grpc.SettingsServiceStub(channel).PutInboundRoute(
            ss.PutInboundRouteRequest(
                actor=ss.Actor(login="e2e"),
                route=ss.InboundRoute(
                    name="demo-4444", number="4444", partner="demo", format=ms.REPORT_FORMAT_SMPP
                ),
            ),
            timeout=10,
        )
    finally:
        await channel.close()


def _send_mo(inst: Installation, text: str) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{inst.ports['smsc_control']}/mo",
        data=json.dumps({"from": "79161234567", "to": "4444", "text": text}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as r:
        assert r.status == 200


async def test_long_mo_reaches_the_partners_receiver_whole(installation: Installation) -> None:
    port = free_port()
    installation.extra_env["RCS_SMPP_PORT"] = str(port)
    installation.start("routing", "simulator", "connector", "core", "dispatcher", "smpp")
    installation.wait_ready()
    await _route(installation)
    received: list[DeliverSm] = []

    async def on_request(pdu: Pdu) -> Pdu | None:
        if isinstance(pdu, DeliverSm):
            received.append(pdu)
            return DeliverSmResp()
        return None

    await wait_until(lambda: _listening(port), within=20)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    esme = SmppSession(reader, writer, on_request, window=10, name="esme")
    esme.start()
    resp = await esme.send_request(BindReceiver(system_id="demo", password="demo"))
    assert resp.command_status == 0
    text = "Здравствуйте! Хочу узнать статус заказа номер 12345, спасибо. " * 3
    await asyncio.to_thread(_send_mo, installation, text)
    parts = await wait_until(lambda: len(received) >= 3 and received, within=30)
    assert parts, installation.logs()
    data = [parse_user_data(p) for p in received]
    assert {d.part.total for d in data if d.part} == {len(received)}
    ordered = sorted(data, key=lambda d: d.part.seqnum if d.part else 0)
    joined = b"".join(d.payload for d in ordered)
    assert decode_text(received[0].data_coding, joined) == text
    assert {(p.source_addr, p.destination_addr) for p in received} == {("79161234567", "4444")}
    await esme.unbind()


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
