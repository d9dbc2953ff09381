"""The SMPP gateway's two background loops on core's AuthService — session-lease renewal and
the auth-revision poll — decide how soon to call again from the catalogue's ``retryable``
of core's refusal (ErrorInfo and RetryInfo over a real gRPC server), not from status codes:
an outage is retried soon, a refusal that retrying cannot cure waits the long period."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import grpc
import pytest

from gateways.auth_revision import REFUSED_BACKOFF, AuthRevisionWatch
from gateways.smpp.session_slots import RENEW_RETRY_SECONDS, SessionSlots
from rcs.core.v1 import auth_service_pb2, auth_service_pb2_grpc
from rcs_runtime.errors import CATALOGUE, RcsError, Reason
from rcs_runtime.grpc_client import open_channel
from tests.support import Ctx, start_server

LEASE = 60.0  # renewal period 20 s: far from RENEW_RETRY_SECONDS
POLL = 0.5


class RefusingCore(auth_service_pb2_grpc.AuthServiceServicer):
    """Grants claims; refuses renewals and revision polls with ``reason``."""

    def __init__(self) -> None:
        self.reason = Reason.SERVICE_UNAVAILABLE
        self.retry_after = 0.0

    async def ClaimSmppSession(self, request: Any, context: Ctx) -> Any:
        return auth_service_pb2.ClaimSmppSessionResponse()

    async def RenewSmppSessions(self, request: Any, context: Ctx) -> Any:
        raise RcsError(self.reason, "refused for the test", retry_after=self.retry_after)

    async def GetAuthRevision(self, request: Any, context: Ctx) -> Any:
        raise RcsError(self.reason, "refused for the test", retry_after=self.retry_after)


if TYPE_CHECKING:  # the async stub type exists only in the generated .pyi
    Stub = auth_service_pb2_grpc.AuthServiceAsyncStub


@pytest.fixture
async def core() -> AsyncIterator[tuple[RefusingCore, Stub]]:
    servicer = RefusingCore()  # type: ignore[abstract]  # only the RPCs above are called
    server = await start_server(
        lambda s: auth_service_pb2_grpc.add_AuthServiceServicer_to_server(servicer, s)
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    stub: Stub = auth_service_pb2_grpc.AuthServiceStub(channel)
    yield servicer, stub
    await channel.close()
    await server.stop(0)


async def _renewal_wait(core: tuple[RefusingCore, Stub], reason: Reason, after: float) -> float:
    servicer, stub = core
    servicer.reason, servicer.retry_after = reason, after
    slots = SessionSlots(stub, "gw-test", lease_seconds=LEASE, timeout_seconds=2)
    await slots.claim(slots.reserve("acme", auth_service_pb2.SMPP_BIND_MODE_TRANSCEIVER))
    return await slots.renew()


async def _poll_wait(core: tuple[RefusingCore, Stub], reason: Reason, after: float) -> float:
    servicer, stub = core
    servicer.reason, servicer.retry_after = reason, after
    watch = AuthRevisionWatch(stub, poll_seconds=POLL, timeout_seconds=2)
    try:
        await watch.poll_once()
    except grpc.aio.AioRpcError as err:
        return watch.wait_after(err)
    raise AssertionError("core refused, so the poll must fail")


async def test_a_renewal_core_could_not_answer_is_retried_soon(
    core: tuple[RefusingCore, Stub],
) -> None:
    assert CATALOGUE[Reason.SERVICE_UNAVAILABLE].retryable
    assert await _renewal_wait(core, Reason.SERVICE_UNAVAILABLE, 0) == RENEW_RETRY_SECONDS
    # Core's RetryInfo is honoured, within the renewal period.
    assert await _renewal_wait(core, Reason.SERVICE_UNAVAILABLE, 8) == 8
    assert await _renewal_wait(core, Reason.SERVICE_UNAVAILABLE, 300) == LEASE / 3


async def test_a_renewal_refused_for_good_waits_the_period(
    core: tuple[RefusingCore, Stub], caplog: pytest.LogCaptureFixture
) -> None:
    assert not CATALOGUE[Reason.INVALID_REQUEST].retryable
    assert await _renewal_wait(core, Reason.INVALID_REQUEST, 0) == LEASE / 3
    (record,) = [r for r in caplog.records if r.getMessage() == "smpp_session_renew_refused"]
    assert record.levelname == "ERROR"


async def test_an_auth_revision_poll_is_retried_by_the_catalogue(
    core: tuple[RefusingCore, Stub], caplog: pytest.LogCaptureFixture
) -> None:
    assert await _poll_wait(core, Reason.SERVICE_UNAVAILABLE, 0) == POLL
    assert await _poll_wait(core, Reason.SERVICE_UNAVAILABLE, 3) == 3
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert await _poll_wait(core, Reason.INVALID_REQUEST, 0) == POLL * REFUSED_BACKOFF
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        "auth_revision_refused"
    ]
