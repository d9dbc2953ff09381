"""The SMPP gateway's receipt pump decides whether to lease again from the catalogue's
``retryable`` of core's refusal (ErrorInfo over a real gRPC server), not from status codes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateways.smpp.report_pump import PumpSettings, ReportPumps
from rcs.core.v1 import report_lease_service_pb2_grpc
from rcs_runtime.errors import CATALOGUE, RcsError, Reason
from rcs_runtime.grpc_client import open_channel
from rcs_smpp.pdu import Pdu
from rcs_smpp.session import SmppSession
from tests.support import Ctx, start_server


class RefusingCore(report_lease_service_pb2_grpc.ReportLeaseServiceServicer):
    def __init__(self, reason: Reason) -> None:
        self.reason = reason
        self.leases = 0

    async def LeaseReports(self, request: Any, context: Ctx) -> Any:
        self.leases += 1
        raise RcsError(self.reason, "refused for the test")


async def _no_requests(pdu: Pdu) -> Pdu | None:
    return None


@pytest.fixture
async def session() -> AsyncIterator[SmppSession]:
    """A bound-looking session over a real loopback connection (the pump only needs one
    that is open: no report is ever leased here)."""
    accepted: asyncio.Queue[asyncio.StreamWriter] = asyncio.Queue()

    async def keep(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accepted.put(writer)

    server = await asyncio.start_server(keep, "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection(*server.sockets[0].getsockname()[:2])
    yield SmppSession(reader, writer, _no_requests)
    writer.close()
    (await accepted.get()).close()
    server.close()
    await server.wait_closed()


async def _leases_within(reason: Reason, session: SmppSession, seconds: float) -> int:
    core = RefusingCore(reason)  # type: ignore[abstract]  # only LeaseReports is called
    server = await start_server(
        lambda s: report_lease_service_pb2_grpc.add_ReportLeaseServiceServicer_to_server(core, s)
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    pumps = ReportPumps(
        report_lease_service_pb2_grpc.ReportLeaseServiceStub(channel),
        PumpSettings(wait_seconds=0.1, rpc_timeout_seconds=2),
    )
    try:
        pumps.add("acme", session)
        await asyncio.sleep(seconds)
        return core.leases
    finally:
        await pumps.close()
        await channel.close()
        await server.stop(0)


async def test_a_retryable_refusal_is_leased_again(session: SmppSession) -> None:
    assert CATALOGUE[Reason.QUEUE_FULL].retryable
    assert await _leases_within(Reason.QUEUE_FULL, session, 2.5) >= 2


async def test_a_refusal_that_cannot_cure_itself_ends_the_pump(session: SmppSession) -> None:
    assert not CATALOGUE[Reason.INVALID_LOGIN].retryable
    assert await _leases_within(Reason.INVALID_LOGIN, session, 2.5) == 1
