"""Failover between a route's interfaces in the connector, against the SMSC simulator on
real sockets: an unbound or throttling interface passes its traffic to the route's next
one and its circuit breaker opens; a permanent rejection is not failed over."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest

from rcs.common.v1 import message_pb2
from rcs.connector.v1 import connector_service_pb2 as cs
from rcs.connector.v1 import connector_service_pb2_grpc
from rcs_connectors.health import OPEN
from rcs_connectors.interfaces import SmppInterface
from rcs_connectors.servicer import FAILOVERS, ConnectorServicer
from rcs_connectors.settings import ConnectorSettings
from rcs_connectors.smpp_bind import OperatorBind
from rcs_runtime.grpc_client import open_channel
from rcs_simulators.smsc import server as smsc_server
from rcs_simulators.smsc.settings import SmscSettings
from tests.conftest import free_port
from tests.support import start_server

pytestmark = pytest.mark.integration


class Smsc(smsc_server.Smsc):
    """The simulator; with ``throttle_all`` every submit_sm gets 0x58 throttled (its
    RCS_SMSC_THROTTLE_PER_SECOND only throttles above a rate, so some would pass)."""

    throttle_all = False

    def _throttled(self, client: Any) -> bool:
        return self.throttle_all or super()._throttled(client)


class NullSink:
    """No receipts are asked for in these tests."""

    async def record(self, *_: Any) -> bool:
        return True


@contextlib.asynccontextmanager
async def simulator() -> AsyncIterator[tuple[Smsc, int]]:
    smsc = Smsc(SmscSettings(smsc_port=0, smsc_system_id="rcs", smsc_password="pw"))
    port = await smsc.start()
    try:
        yield smsc, port
    finally:
        await smsc.stop()


async def wait_until(check: Any, seconds: float = 5) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


@contextlib.asynccontextmanager
async def interface(name: str, port: int) -> AsyncIterator[OperatorBind]:
    settings = ConnectorSettings(
        connector_throttle_pause_seconds=0.01,
        connector_reconnect_min_seconds=0.05,
        connector_response_timeout_seconds=2,
    )
    bind = OperatorBind(
        SmppInterface(name, "127.0.0.1", port, "rcs", "pw", "", 10, 0),
        settings,
        NullSink(),  # type: ignore[arg-type]
    )
    bind.start()
    try:
        yield bind
    finally:
        await bind.stop()


def message(n: int, destination: str = "79161234567") -> cs.OutboundMessage:
    m = cs.OutboundMessage(
        message_id=str(n),
        interface_id="a",
        fallback_interface_ids=["b"],
        destination=destination,
        sms=message_pb2.SmsContent(text="hi", sender="RCS"),
    )
    m.valid_until.FromDatetime(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    return m


async def send(servicer: ConnectorServicer, *ms: cs.OutboundMessage) -> list[cs.SendResult]:
    answer = await servicer.SendMessages(cs.SendMessagesRequest(messages=ms), None)  # type: ignore[arg-type]
    return list(answer.results)


def metric(value: Any) -> float:
    return float(value._value.get())


async def test_unbound_interface_fails_over_at_once_over_grpc() -> None:
    async with (
        simulator() as (b_smsc, b_port),
        interface("b", b_port) as b,
        interface("a", free_port()) as a,  # A's SMSC never started
    ):
        await wait_until(lambda: b.bound)
        servicer = ConnectorServicer({"a": a, "b": b}, bind_wait_seconds=0)
        grpc_server = await start_server(
            lambda s: connector_service_pb2_grpc.add_ConnectorServiceServicer_to_server(servicer, s)
        )
        channel = open_channel(f"127.0.0.1:{grpc_server.port}")
        try:
            stub = connector_service_pb2_grpc.ConnectorServiceStub(channel)
            answer = await stub.SendMessages(
                cs.SendMessagesRequest(messages=[message(1), message(2)]), timeout=10
            )
        finally:
            await channel.close()
            await grpc_server.stop(0)
    assert [(r.outcome, r.interface_id) for r in answer.results] == [
        (cs.SEND_OUTCOME_ACCEPTED, "b"),
        (cs.SEND_OUTCOME_ACCEPTED, "b"),
    ]
    assert all(r.receipt_scope == f"127.0.0.1:{b_port}:rcs" for r in answer.results)
    assert b_smsc.stats.submits == 2


async def test_interface_whose_smsc_went_away_fails_over() -> None:
    async with simulator() as (b_smsc, b_port), interface("b", b_port) as b:
        async with simulator() as (a_smsc, a_port), interface("a", a_port) as a:
            await wait_until(lambda: a.bound and b.bound)
            servicer = ConnectorServicer({"a": a, "b": b})
            assert [r.interface_id for r in await send(servicer, message(1))] == ["a"]
        # A's simulator is stopped: the bind drops and cannot come back.
        await wait_until(lambda: not a.bound)
        before = metric(FAILOVERS.labels("a", "b"))
        (result,) = await send(servicer, message(2))
    assert (result.outcome, result.interface_id) == (cs.SEND_OUTCOME_ACCEPTED, "b")
    assert (a_smsc.stats.submits, b_smsc.stats.submits) == (1, 1)
    assert metric(FAILOVERS.labels("a", "b")) == before + 1


async def test_throttling_interface_fails_over_opens_and_recovers() -> None:
    async with (
        simulator() as (a_smsc, a_port),
        simulator() as (b_smsc, b_port),
        interface("a", a_port) as a,
        interface("b", b_port) as b,
    ):
        await wait_until(lambda: a.bound and b.bound)
        a_smsc.throttle_all = True
        servicer = ConnectorServicer(
            {"a": a, "b": b}, breaker_failures=3, breaker_cooldown_seconds=1.0
        )
        for n in range(3):
            (result,) = await send(servicer, message(n))
            assert (result.outcome, result.interface_id) == (cs.SEND_OUTCOME_ACCEPTED, "b")
        assert a_smsc.stats.throttled == 3
        assert servicer.breaker("a").is_open
        assert metric(OPEN.labels("a")) == 1
        # While open, A is not even tried: a whole batch goes straight to B.
        results = await send(servicer, *(message(n) for n in range(10, 20)))
        assert {(r.outcome, r.interface_id) for r in results} == {(cs.SEND_OUTCOME_ACCEPTED, "b")}
        assert a_smsc.stats.throttled == 3
        assert b_smsc.stats.submits == 13
        # A recovers; after the cooldown one trial message goes to A and closes the breaker.
        a_smsc.throttle_all = False
        await asyncio.sleep(1.05)
        (result,) = await send(servicer, message(30))
        assert (result.outcome, result.interface_id) == (cs.SEND_OUTCOME_ACCEPTED, "a")
        assert not servicer.breaker("a").is_open
        assert metric(OPEN.labels("a")) == 0
        (result,) = await send(servicer, message(31))
        assert result.interface_id == "a"
    assert a_smsc.stats.submits == 2


async def test_concurrent_batch_on_a_throttling_interface_all_fail_over() -> None:
    async with (
        simulator() as (a_smsc, a_port),
        simulator() as (b_smsc, b_port),
        interface("a", a_port) as a,
        interface("b", b_port) as b,
    ):
        await wait_until(lambda: a.bound and b.bound)
        a_smsc.throttle_all = True
        servicer = ConnectorServicer({"a": a, "b": b})  # the default 5 failures
        results = await send(servicer, *(message(n) for n in range(8)))
        assert [r.interface_id for r in results] == ["b"] * 8
        assert all(r.outcome == cs.SEND_OUTCOME_ACCEPTED for r in results)
        assert servicer.breaker("a").is_open
    assert b_smsc.stats.submits == 8


async def test_permanent_rejection_is_not_failed_over() -> None:
    async with (
        simulator() as (_, a_port),
        simulator() as (b_smsc, b_port),
        interface("a", a_port) as a,
        interface("b", b_port) as b,
    ):
        await wait_until(lambda: a.bound and b.bound)
        servicer = ConnectorServicer({"a": a, "b": b}, breaker_failures=1)
        (result,) = await send(servicer, message(1, destination=""))  # 0x0B from the SMSC
    assert (result.outcome, result.interface_id, result.command_status) == (
        cs.SEND_OUTCOME_REJECTED,
        "a",
        0x0B,
    )
    assert b_smsc.stats.submits == 0
    assert not servicer.breaker("a").is_open


async def test_no_usable_interface_is_retried_later() -> None:
    async with interface("a", free_port()) as a, interface("b", free_port()) as b:
        servicer = ConnectorServicer({"a": a, "b": b}, bind_wait_seconds=0.1)
        (result,) = await send(servicer, message(1))
    assert (result.outcome, result.detail) == (cs.SEND_OUTCOME_RETRY, "no_interface_available")
    (result,) = await send(ConnectorServicer({}), message(2))
    assert (result.outcome, result.detail) == (cs.SEND_OUTCOME_RETRY, "unknown_interface")
