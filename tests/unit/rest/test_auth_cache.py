"""The gateways' login cache: successes reused, failures never, concurrent checks shared."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from gateways.partner_auth import PartnerAuth
from rcs.core.v1 import auth_service_pb2
from rcs_runtime.errors import RcsError


class _Refused(grpc.aio.AioRpcError):
    def __init__(self) -> None:
        super().__init__(
            grpc.StatusCode.UNAUTHENTICATED,
            grpc.aio.Metadata(),
            grpc.aio.Metadata(),
            details="bad password",
        )


class _Core:
    """AuthService that answers after ``gate`` opens, counting the checks it made."""

    def __init__(self) -> None:
        self.checks = 0
        self.refuse = False
        self.gate = asyncio.Event()
        self.gate.set()

    async def AuthenticatePartner(
        self,
        request: auth_service_pb2.AuthenticatePartnerRequest,
        timeout: float,  # noqa: ASYNC109 (gRPC)
        wait_for_ready: bool = False,
    ) -> auth_service_pb2.AuthenticatePartnerResponse:
        self.checks += 1
        await self.gate.wait()
        if self.refuse:
            raise _Refused()
        return auth_service_pb2.AuthenticatePartnerResponse(default_ttl_seconds=3600)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _auth(core: _Core, clock: _Clock) -> PartnerAuth:
    return PartnerAuth(core, cache_seconds=30, timeout_seconds=1, clock=clock)  # type: ignore[arg-type]


async def test_concurrent_requests_share_one_check() -> None:
    core, clock = _Core(), _Clock()
    auth = _auth(core, clock)
    core.gate.clear()
    waiting = [
        asyncio.ensure_future(auth.authenticate("demo", "pw", "10.0.0.1")) for _ in range(20)
    ]
    await asyncio.sleep(0.01)
    core.gate.set()
    assert await asyncio.gather(*waiting) == [3600] * 20
    assert core.checks == 1
    await auth.authenticate("demo", "pw", "10.0.0.1")
    assert core.checks == 1  # cached
    clock.now += 31
    await auth.authenticate("demo", "pw", "10.0.0.1")
    assert core.checks == 2  # expired: checked again


async def test_a_refusal_reaches_every_waiter_and_is_not_cached() -> None:
    core, clock = _Core(), _Clock()
    auth = _auth(core, clock)
    core.refuse = True
    core.gate.clear()
    waiting = [
        asyncio.ensure_future(auth.authenticate("demo", "bad", "10.0.0.1")) for _ in range(3)
    ]
    await asyncio.sleep(0.01)
    core.gate.set()
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(o, RcsError) for o in outcomes)
    assert len({o.reason for o in outcomes if isinstance(o, RcsError)}) == 1
    assert core.checks == 1
    core.refuse = False
    assert await auth.authenticate("demo", "bad", "10.0.0.1") == 3600  # corrected at once
    assert core.checks == 2


async def test_a_cancelled_caller_does_not_cancel_the_others() -> None:
    core, clock = _Core(), _Clock()
    auth = _auth(core, clock)
    core.gate.clear()
    first = asyncio.ensure_future(auth.authenticate("demo", "pw", "10.0.0.1"))
    second = asyncio.ensure_future(auth.authenticate("demo", "pw", "10.0.0.1"))
    await asyncio.sleep(0.01)
    first.cancel()
    core.gate.set()
    assert await second == 3600
    with pytest.raises(asyncio.CancelledError):
        await first
    assert core.checks == 1
