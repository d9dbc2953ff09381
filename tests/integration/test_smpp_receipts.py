"""Receipts to ESMEs over real sockets: smpplib binds to the SMPP gateway, which talks to core
(real gRPC, PostgreSQL). A receipt reaches any receiving session of the login, waits for one
to bind, survives a dropped session and a gateway that dies with receipts in flight."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import psycopg
import pytest
import smpplib.client
import smpplib.smpp

from gateways.smpp.server import SmppGateway
from gateways.smpp.settings import SmppGatewaySettings
from rcs.core.v1 import auth_service_pb2_grpc, report_lease_service_pb2_grpc
from rcs_core.auth import partners_store as partners
from rcs_core.auth.servicer import AuthServicer
from rcs_core.delivery.finalize import finalize
from rcs_core.messages.statuses import Status
from rcs_core.reports.desk import ReportDesk
from rcs_core.reports.servicer import ReportLeaseServicer
from rcs_runtime.grpc_client import open_channel
from tests.core_services import CoreServices
from tests.support import start_server

pytestmark = pytest.mark.integration
LOGIN, PASSWORD = "acme", "pw-12345"
FAST: dict[str, Any] = {"smpp_receipt_wait_seconds": 0.5}


@dataclass
class Rig:
    start: Callable[..., Awaitable[tuple[SmppGateway, int]]]
    database_url: str
    pool: Any

    async def finish(self, message_id: str, status: Status, error: int = 0) -> None:
        async with await psycopg.AsyncConnection.connect(self.database_url) as conn:
            await conn.execute("UPDATE messages SET status = 2 WHERE id = %s", (int(message_id),))
            await finalize(conn, [(int(message_id), status, error, "test")])
            await conn.commit()

    async def outbox(self) -> int:
        async with await psycopg.AsyncConnection.connect(self.database_url) as conn:
            cur = await conn.execute("SELECT count(*) FROM report_outbox")
            row = await cur.fetchone()
            assert row is not None
            return int(row[0])


@pytest.fixture
async def rig(pool: Any, database_url: str) -> AsyncIterator[Rig]:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await partners.upsert(conn, LOGIN, PASSWORD, default_sender="ACME")
        await conn.commit()
    desk = ReportDesk(pool, retry_base_seconds=0.2, retry_max_seconds=0.5)
    messages = CoreServices(pool, installation_id=7, reports=desk)
    server = await start_server(
        messages.register,
        lambda s: auth_service_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(pool), s),
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    started: list[SmppGateway] = []

    async def start(
        reports_channel: grpc.aio.Channel | None = None, **settings: Any
    ) -> tuple[SmppGateway, int]:
        gateway = SmppGateway(
            SmppGatewaySettings(smpp_port=0, **FAST, **settings),
            channel,
            reports_channel=reports_channel,
        )
        started.append(gateway)
        return gateway, await gateway.start()

    yield Rig(start, database_url, pool)
    for gateway in started:
        await gateway.stop()
    await channel.close()
    await server.stop(0)
    await messages.close()


# -- the ESME (smpplib is synchronous: these run in threads) ---------------------------------


class Esme:
    def __init__(self, port: int, mode: str = "bind_transceiver") -> None:
        self.client = smpplib.client.Client(
            "127.0.0.1", port, timeout=10, allow_unknown_opt_params=True
        )
        self.client.connect()
        getattr(self.client, mode)(system_id=LOGIN, password=PASSWORD)

    def submit(self, text: bytes, registered_delivery: int = 1) -> str:
        pdu = smpplib.smpp.make_pdu(
            "submit_sm",
            client=self.client,
            source_addr="ACME",
            destination_addr="79161234567",
            short_message=text,
            registered_delivery=registered_delivery,
        )
        self.client._socket.sendall(pdu.generate())
        resp = self.client.read_pdu()
        assert resp.status == 0
        value = resp.message_id
        return value.decode() if isinstance(value, bytes) else str(value)

    def submit_parts(self, parts: list[bytes], asking: set[int]) -> list[str]:
        """A message split by the ESME: UDH-8 parts (reference 9), registered_delivery 1 on
        the parts numbered in ``asking``; the id of each part's submit_sm_resp."""
        ids = []
        for n, chunk in enumerate(parts, start=1):
            pdu = smpplib.smpp.make_pdu(
                "submit_sm",
                client=self.client,
                source_addr="ACME",
                destination_addr="79161234567",
                esm_class=0x40,
                short_message=bytes([5, 0, 3, 9, len(parts), n]) + chunk,
                registered_delivery=1 if n in asking else 0,
            )
            self.client._socket.sendall(pdu.generate())
            resp = self.client.read_pdu()
            assert resp.status == 0
            value = resp.message_id
            ids.append(value.decode() if isinstance(value, bytes) else str(value))
        return ids

    def read_deliver_sm(self, *, answer: int | None = 0) -> Any:
        """The next deliver_sm, answered with ``answer`` (None: not answered)."""
        while True:
            pdu = self.client.read_pdu()
            if pdu.command == "deliver_sm":
                break
        if answer is not None:
            resp = smpplib.smpp.make_pdu("deliver_sm_resp", client=self.client, status=answer)
            resp.sequence = pdu.sequence
            self.client._socket.sendall(resp.generate())
        return pdu

    def nothing_within(self, seconds: float) -> bool:
        self.client._socket.settimeout(seconds)
        try:
            pdu = self.client.read_pdu()
        except (TimeoutError, smpplib.exceptions.ConnectionError):
            return True
        finally:
            self.client._socket.settimeout(10)
        return bool(pdu.command != "deliver_sm")

    def close(self) -> None:
        self.client.disconnect()


def text_of(pdu: Any) -> str:
    value = pdu.short_message
    return value.decode() if isinstance(value, bytes) else str(value)


def field(receipt: str, name: str) -> str:
    found = re.search(rf"{name}:(\S+)", receipt)
    assert found, receipt
    return found.group(1)


async def run(fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kw)


# -- tests ------------------------------------------------------------------------------------


async def test_receipt_comes_back_on_the_transceiver_as_rapporto_describes(rig: Rig) -> None:
    _, port = await rig.start()
    esme = await run(Esme, port)
    mid = await run(esme.submit, b"Hello receipts")
    await rig.finish(mid, Status.UNDELIVERED, 8)
    pdu = await run(esme.read_deliver_sm)
    receipt = text_of(pdu)
    assert pdu.esm_class == 0x04
    assert field(receipt, "id") == mid
    assert field(receipt, "stat") == "UNDELIV"
    assert field(receipt, "err") == "008"
    assert field(receipt, "sub") == "001"
    assert receipt.endswith("text:Hello receipts")
    assert (pdu.receipted_message_id.decode(), pdu.message_state) == (mid, 5)
    assert pdu.source_addr.decode() == "ACME"
    assert pdu.destination_addr.decode() == "79161234567"
    for _ in range(50):  # settled after deliver_sm_resp
        if await rig.outbox() == 0:
            break
        await asyncio.sleep(0.1)
    assert await rig.outbox() == 0
    await run(esme.close)


class _CountingLeases(ReportLeaseServicer):
    leases = 0

    async def LeaseReports(self, request: Any, context: Any) -> Any:
        type(self).leases += 1
        return await super().LeaseReports(request, context)


async def test_receipts_are_leased_from_the_reports_core_when_one_is_named(rig: Rig) -> None:
    """`rcs run` has the gateway lease receipts from the core that takes the connector's
    receipts, so that delivering them never holds up a submit in the accepting core."""
    desk = ReportDesk(rig.pool, retry_base_seconds=0.2, retry_max_seconds=0.5)
    reports_core = _CountingLeases(rig.pool, reports=desk)
    server = await start_server(
        lambda s: report_lease_service_pb2_grpc.add_ReportLeaseServiceServicer_to_server(
            reports_core, s
        )
    )
    reports = open_channel(f"127.0.0.1:{server.port}")
    try:
        _, port = await rig.start(reports_channel=reports)
        esme = await run(Esme, port)
        mid = await run(esme.submit, b"via the reports core")  # accepted by the rig's core
        await rig.finish(mid, Status.DELIVERED)
        pdu = await run(esme.read_deliver_sm)
        assert field(text_of(pdu), "id") == mid
        assert _CountingLeases.leases >= 1  # the login's one pump leases from it
        await run(esme.close)
    finally:
        await reports.close()
        await server.stop(0)
        await reports_core.close()


async def test_receipt_waits_for_a_receiver_on_another_socket(rig: Rig) -> None:
    _, port = await rig.start()
    sender = await run(Esme, port, "bind_transmitter")
    mid = await run(sender.submit, b"to the receiver")
    await rig.finish(mid, Status.DELIVERED)
    await asyncio.sleep(1)  # no receiver bound: the report waits in core
    assert await rig.outbox() == 1
    receiver = await run(Esme, port, "bind_receiver")
    pdu = await run(receiver.read_deliver_sm)
    assert field(text_of(pdu), "id") == mid
    assert field(text_of(pdu), "stat") == "DELIVRD"
    assert await run(sender.nothing_within, 0.5)  # a transmitter gets no receipts
    await run(sender.close)
    await run(receiver.close)


async def test_failures_only_and_no_receipt_requests(rig: Rig) -> None:
    _, port = await rig.start()
    esme = await run(Esme, port)
    quiet = await run(esme.submit, b"no receipt", 0)
    ok = await run(esme.submit, b"failures only, delivered", 2)
    bad = await run(esme.submit, b"failures only, failed", 2)
    await rig.finish(quiet, Status.UNDELIVERED, 1)
    await rig.finish(ok, Status.DELIVERED)
    await rig.finish(bad, Status.EXPIRED, 7)
    pdu = await run(esme.read_deliver_sm)
    assert field(text_of(pdu), "id") == bad
    assert field(text_of(pdu), "stat") == "EXPIRED"
    assert await run(esme.nothing_within, 1.0)
    await run(esme.close)


async def test_dropped_session_and_refused_receipt_are_delivered_again(rig: Rig) -> None:
    _, port = await rig.start()
    first = await run(Esme, port)
    mid = await run(first.submit, b"again and again")
    await rig.finish(mid, Status.DELIVERED)
    unanswered = await run(first.read_deliver_sm, answer=None)
    assert field(text_of(unanswered), "id") == mid
    await run(first.close)  # gone without deliver_sm_resp
    second = await run(Esme, port, "bind_receiver")
    refused = await run(second.read_deliver_sm, answer=0x08)  # ESME_RSYSERR: retried later
    assert field(text_of(refused), "id") == mid
    taken = await run(second.read_deliver_sm)
    assert field(text_of(taken), "id") == mid
    for _ in range(50):
        if await rig.outbox() == 0:
            break
        await asyncio.sleep(0.1)
    assert await rig.outbox() == 0
    await run(second.close)


async def test_receipts_in_flight_survive_a_gateway_that_dies(rig: Rig) -> None:
    doomed, doomed_port = await rig.start(smpp_receipt_lease_seconds=1)
    esme = await run(Esme, doomed_port)
    mid = await run(esme.submit, b"survivor")
    await rig.finish(mid, Status.DELIVERED)
    await run(esme.read_deliver_sm, answer=None)  # leased by the doomed gateway, in flight
    # Dies: its pump never settles (as if killed), then its sockets close.
    await doomed._pumps.close()
    await doomed.stop()
    await run(esme.close)
    _, port = await rig.start()
    fresh = await run(Esme, port, "bind_receiver")
    pdu = await run(fresh.read_deliver_sm)  # after the lease ran out
    assert field(text_of(pdu), "id") == mid
    await run(fresh.close)


async def test_one_receipt_per_submit_sm_that_asked(rig: Rig) -> None:
    """Rapporto (SMPP_API.txt 10): one deliver_sm per submit_sm; for a message the partner
    split itself, each part's receipt carries the whole message's part count in sub."""
    _, port = await rig.start()
    esme = await run(Esme, port)
    parts = [b"first part, ", b"second part, ", b"third part"]
    ids = await run(esme.submit_parts, parts, {1, 2, 3})
    assert len(set(ids)) == 1  # every part answered with the whole message's id
    await rig.finish(ids[0], Status.DELIVERED)
    receipts = [text_of(await run(esme.read_deliver_sm)) for _ in range(3)]
    assert {field(r, "id") for r in receipts} == {ids[0]}
    assert {field(r, "stat") for r in receipts} == {"DELIVRD"}
    assert await run(esme.nothing_within, 1.0)  # three, not more

    # Kannel's way: only the first part asks. One receipt.
    ids = await run(esme.submit_parts, [b"a ", b"b"], {1})
    await rig.finish(ids[0], Status.DELIVERED)
    assert field(text_of(await run(esme.read_deliver_sm)), "id") == ids[0]
    assert await run(esme.nothing_within, 1.0)
    await run(esme.close)
