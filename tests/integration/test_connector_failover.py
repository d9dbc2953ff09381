"""Failover between a route's interfaces in the connector, against scripted SMSCs on real
sockets: an unbound or failing interface passes its traffic to the next one; a permanent
rejection is not failed over."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest

from rcs.common.v1 import message_pb2
from rcs.connector.v1 import connector_service_pb2 as cs
from rcs_connectors.interfaces import SmppInterface
from rcs_connectors.servicer import ConnectorServicer
from rcs_connectors.settings import ConnectorSettings
from rcs_connectors.smpp_bind import OperatorBind
from rcs_smpp.codec import decode, encode
from rcs_smpp.pdu import (
    BindTransceiver,
    BindTransceiverResp,
    EnquireLink,
    EnquireLinkResp,
    Pdu,
    SubmitSm,
    SubmitSmResp,
)

pytestmark = pytest.mark.integration


class ScriptedSmsc:
    """Answers bind and enquire_link; every submit_sm with ``status`` (0: accepted)."""

    def __init__(self, status: int = 0) -> None:
        self.status = status
        self.submits = 0
        self.writers: list[asyncio.StreamWriter] = []

    async def close(self) -> None:
        for writer in self.writers:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                header = await reader.readexactly(4)
                (length,) = struct.unpack(">I", header)
                pdu = decode(header + await reader.readexactly(length - 4))
                reply: Pdu
                if isinstance(pdu, BindTransceiver):
                    reply = BindTransceiverResp(system_id="scripted")
                elif isinstance(pdu, EnquireLink):
                    reply = EnquireLinkResp()
                elif isinstance(pdu, SubmitSm):
                    self.submits += 1
                    reply = SubmitSmResp(message_id=f"{self.submits:X}")
                    reply.command_status = self.status
                else:
                    continue
                reply.sequence_number = pdu.sequence_number
                writer.write(encode(reply))


class NullSink:
    async def put(self, *_: Any) -> bool:
        return True


@contextlib.asynccontextmanager
async def interface(name: str, smsc: ScriptedSmsc | None) -> AsyncIterator[OperatorBind]:
    """A bind to ``smsc``, or to a closed port when None (never bound)."""
    server = await asyncio.start_server(smsc.handle, "127.0.0.1", 0) if smsc else None
    port = server.sockets[0].getsockname()[1] if server else 1
    settings = ConnectorSettings(connector_throttle_pause_seconds=0.01)
    bind = OperatorBind(
        SmppInterface(name, "127.0.0.1", port, "rcs", "pw", "", 10, 0),
        settings,
        NullSink(),  # type: ignore[arg-type]  # no receipts in these tests
    )
    bind.start()
    for _ in range(100):
        if bind.bound or server is None:
            break
        await asyncio.sleep(0.02)
    try:
        yield bind
    finally:
        await bind.stop()
        if server is not None and smsc is not None:
            server.close()
            await smsc.close()
            await server.wait_closed()


def message(n: int) -> cs.OutboundMessage:
    m = cs.OutboundMessage(
        message_id=str(n),
        interface_id="a",
        fallback_interface_ids=["b"],
        destination="79161234567",
        sms=message_pb2.SmsContent(text="hi", sender="RCS"),
    )
    m.valid_until.FromDatetime(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    return m


async def send(servicer: ConnectorServicer, *ms: cs.OutboundMessage) -> list[cs.SendResult]:
    answer = await servicer.SendMessages(cs.SendMessagesRequest(messages=ms), None)  # type: ignore[arg-type]
    return list(answer.results)


async def test_unbound_interface_fails_over_at_once() -> None:
    b_smsc = ScriptedSmsc()
    async with interface("a", None) as a, interface("b", b_smsc) as b:
        servicer = ConnectorServicer({"a": a, "b": b})
        (result,) = await send(servicer, message(1))
    assert (result.outcome, result.interface_id) == (cs.SEND_OUTCOME_ACCEPTED, "b")
    assert b_smsc.submits == 1


async def test_failing_interface_fails_over_and_its_breaker_opens() -> None:
    a_smsc, b_smsc = ScriptedSmsc(status=0x58), ScriptedSmsc()  # a throttles everything
    async with interface("a", a_smsc) as a, interface("b", b_smsc) as b:
        servicer = ConnectorServicer({"a": a, "b": b}, breaker_failures=3)
        for n in range(3):
            (result,) = await send(servicer, message(n))
            assert (result.outcome, result.interface_id) == (cs.SEND_OUTCOME_ACCEPTED, "b")
        assert a_smsc.submits == 3
        assert servicer.breaker("a").is_open
        (result,) = await send(servicer, message(9))
    assert result.interface_id == "b"
    assert a_smsc.submits == 3  # skipped while open
    assert b_smsc.submits == 4


async def test_permanent_rejection_is_not_failed_over() -> None:
    a_smsc, b_smsc = ScriptedSmsc(status=0x0B), ScriptedSmsc()  # invalid destination
    async with interface("a", a_smsc) as a, interface("b", b_smsc) as b:
        servicer = ConnectorServicer({"a": a, "b": b})
        (result,) = await send(servicer, message(1))
    assert (result.outcome, result.interface_id) == (cs.SEND_OUTCOME_REJECTED, "a")
    assert b_smsc.submits == 0
    assert not servicer.breaker("a").is_open


async def test_no_route_interface_loaded_is_retried_later() -> None:
    servicer = ConnectorServicer({})
    (result,) = await send(servicer, message(1))
    assert (result.outcome, result.detail) == (cs.SEND_OUTCOME_RETRY, "unknown_interface")
