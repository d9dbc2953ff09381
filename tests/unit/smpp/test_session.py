"""SmppSession over real loopback sockets: one side a session, the other a session or raw
bytes, so framing and error answers are checked on the wire."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from rcs_smpp import pdu as p
from rcs_smpp.codec import decode, encode
from rcs_smpp.constants import MAX_SEQUENCE_NUMBER
from rcs_smpp.constants import CommandStatus as S
from rcs_smpp.errors import PduDecodeError
from rcs_smpp.session import (
    ResponseTimeoutError,
    SessionClosedError,
    SmppSession,
    UnexpectedResponseError,
)

Handler = Callable[[p.Pdu], Awaitable[p.Pdu | None]]


async def _ok(request: p.Pdu) -> p.Pdu | None:
    if isinstance(request, p.SubmitSm):
        return p.SubmitSmResp(message_id=f"id-{request.destination_addr}")
    return p.make_response(request)


@contextlib.asynccontextmanager
async def _server(
    on_connection: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        server.close()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def session_pair(
    server_handler: Handler = _ok, client_handler: Handler = _ok, **options: Any
) -> AsyncIterator[tuple[SmppSession, SmppSession]]:
    """(client, server) sessions joined by a loopback TCP connection."""
    accepted: asyncio.Future[SmppSession] = asyncio.get_running_loop().create_future()

    async def on_connection(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        session = SmppSession(r, w, server_handler, name="server", **options)
        session.start()
        accepted.set_result(session)

    async with _server(on_connection) as (reader, writer):
        client = SmppSession(reader, writer, client_handler, name="client", **options)
        client.start()
        server = await accepted
        try:
            yield client, server
        finally:
            await client.close()
            await server.close()


@contextlib.asynccontextmanager
async def raw_peer(
    handler: Handler = _ok, **options: Any
) -> AsyncIterator[tuple[SmppSession, asyncio.StreamReader, asyncio.StreamWriter]]:
    """A server session and the raw client socket talking to it."""
    accepted: asyncio.Future[SmppSession] = asyncio.get_running_loop().create_future()

    async def on_connection(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        session = SmppSession(r, w, handler, name="server", **options)
        session.start()
        accepted.set_result(session)

    async with _server(on_connection) as (reader, writer):
        session = await accepted
        try:
            yield session, reader, writer
        finally:
            await session.close()


async def _read_pdu(reader: asyncio.StreamReader) -> p.Pdu:
    header = await asyncio.wait_for(reader.readexactly(4), 5)
    length = int.from_bytes(header, "big")
    return decode(header + await reader.readexactly(length - 4))


def _raw(command_id: int, body: bytes = b"", sequence: int = 5, length: int | None = None) -> bytes:
    size = 16 + len(body) if length is None else length
    return struct.pack(">IIII", size, command_id, 0, sequence) + body


async def test_request_gets_the_handlers_response_with_its_sequence_number() -> None:
    async with session_pair() as (client, _server_session):
        request = p.SubmitSm(destination_addr="79001234567", short_message=b"hi")

        response = await client.send_request(request)

        assert isinstance(response, p.SubmitSmResp)
        assert response.message_id == "id-79001234567"
        assert response.sequence_number == request.sequence_number == 1
        assert client.outstanding == 0


async def test_both_sides_can_send_requests_on_one_connection() -> None:
    async with session_pair() as (client, server):
        from_client, from_server = await asyncio.gather(
            client.send_request(p.SubmitSm(destination_addr="1")),
            server.send_request(p.DeliverSm(short_message=b"id:1 stat:DELIVRD")),
        )

        assert isinstance(from_client, p.SubmitSmResp)
        assert isinstance(from_server, p.DeliverSmResp)


async def test_sequence_numbers_increase_and_wrap_after_0x7fffffff() -> None:
    async with session_pair() as (client, _):
        client._sequence = MAX_SEQUENCE_NUMBER - 1
        seen = []
        for _ in range(3):
            request = p.EnquireLink()
            await client.send_request(request)
            seen.append(request.sequence_number)

        assert seen == [MAX_SEQUENCE_NUMBER - 1 + 1, 1, 2]


async def test_window_blocks_requests_beyond_the_limit_until_a_response_arrives() -> None:
    release = asyncio.Event()
    received: list[int] = []

    async def slow(request: p.Pdu) -> p.Pdu:
        received.append(request.sequence_number)
        await release.wait()
        return p.SubmitSmResp(message_id="x")

    async with session_pair(server_handler=slow, window=2) as (client, _):
        sends = [
            asyncio.create_task(client.send_request(p.SubmitSm(destination_addr=str(i))))
            for i in range(3)
        ]
        await asyncio.sleep(0.2)

        assert client.outstanding == 2
        assert received == [1, 2]

        release.set()
        responses = await asyncio.gather(*sends)
        assert all(r.command_status == 0 for r in responses)
        assert received == [1, 2, 3]


async def test_enquire_link_is_answered_without_the_handler() -> None:
    calls: list[p.Pdu] = []

    async def record(request: p.Pdu) -> p.Pdu | None:
        calls.append(request)
        return p.make_response(request)

    async with raw_peer(record) as (_session, reader, writer):
        writer.write(_raw(0x15, sequence=77))

        response = await _read_pdu(reader)

        assert response == p.EnquireLinkResp(sequence_number=77)
        assert calls == []


async def test_idle_session_sends_enquire_link_after_the_interval_of_silence() -> None:
    calls: list[p.Pdu] = []

    async def record(request: p.Pdu) -> p.Pdu | None:
        calls.append(request)
        return p.make_response(request)

    loop = asyncio.get_running_loop()
    async with raw_peer(record, enquire_link_interval=0.2) as (session, reader, writer):
        started = loop.time()
        for _ in range(2):
            request = await _read_pdu(reader)
            assert isinstance(request, p.EnquireLink)
            writer.write(encode(p.EnquireLinkResp(sequence_number=request.sequence_number)))

        assert loop.time() - started >= 0.4
        assert not session.closed
        assert calls == []


async def test_two_idle_sessions_keep_each_other_alive() -> None:
    async with session_pair(enquire_link_interval=0.05, response_timeout=0.5) as (client, server):
        await asyncio.sleep(0.3)

        assert not client.closed
        assert not server.closed


async def test_unanswered_enquire_link_closes_the_session() -> None:
    async with raw_peer(enquire_link_interval=0.1, response_timeout=0.2) as (session, reader, _):
        request = await _read_pdu(reader)
        assert isinstance(request, p.EnquireLink)

        await asyncio.wait_for(session.wait_closed(), 2)

        assert "enquire_link" in str(session.close_reason)


async def test_unknown_command_id_gets_generic_nack_and_the_session_goes_on() -> None:
    async with raw_peer() as (session, reader, writer):
        writer.write(_raw(0x00000021, b"\0" * 10, sequence=9))  # submit_multi: unsupported

        nack = await _read_pdu(reader)

        assert nack == p.GenericNack(command_status=S.ESME_RINVCMDID, sequence_number=9)
        writer.write(_raw(0x15, sequence=10))
        assert await _read_pdu(reader) == p.EnquireLinkResp(sequence_number=10)
        assert not session.closed


async def test_request_with_a_bad_body_gets_its_own_response_with_the_decoder_status() -> None:
    body = b"\0\x05\x00" + b"1" * 25 + b"\0"  # source_addr longer than 20 characters
    async with raw_peer() as (session, reader, writer):
        writer.write(_raw(0x04, body, sequence=11))

        response = await _read_pdu(reader)

        assert response == p.SubmitSmResp(command_status=S.ESME_RINVSRCADR, sequence_number=11)
        assert not session.closed


@pytest.mark.parametrize("length", [8, 15, 1_000_000])
async def test_broken_framing_gets_generic_nack_and_closes(length: int) -> None:
    async with raw_peer() as (session, reader, writer):
        writer.write(_raw(0x04, b"", sequence=12, length=length))

        nack = await _read_pdu(reader)

        assert nack == p.GenericNack(command_status=S.ESME_RINVCMDLEN)
        assert await asyncio.wait_for(reader.read(), 2) == b""
        assert session.closed


async def test_connection_loss_fails_every_outstanding_request() -> None:
    never = asyncio.Event()

    async def hang(request: p.Pdu) -> p.Pdu:
        await never.wait()
        raise AssertionError("unreachable")

    async with session_pair(server_handler=hang) as (client, server):
        sends = [
            asyncio.create_task(client.send_request(p.SubmitSm(destination_addr=str(i))))
            for i in range(3)
        ]
        await asyncio.sleep(0.1)
        server._writer.transport.abort()

        results = await asyncio.gather(*sends, return_exceptions=True)

        assert all(isinstance(r, SessionClosedError) for r in results)
        await asyncio.wait_for(client.wait_closed(), 2)
        with pytest.raises(SessionClosedError):
            await client.send_request(p.EnquireLink())


async def test_response_timeout_fails_the_request_and_a_late_response_is_ignored() -> None:
    async with raw_peer() as (session, reader, writer):
        send = asyncio.create_task(
            session.send_request(p.DeliverSm(short_message=b"x"), response_timeout=0.2)
        )
        request = await _read_pdu(reader)

        with pytest.raises(ResponseTimeoutError):
            await send
        writer.write(encode(p.DeliverSmResp(sequence_number=request.sequence_number)))
        writer.write(_raw(0x15, sequence=3))
        assert await _read_pdu(reader) == p.EnquireLinkResp(sequence_number=3)
        assert session.outstanding == 0
        assert not session.closed


async def test_generic_nack_is_returned_as_the_response() -> None:
    async with raw_peer() as (session, reader, writer):
        send = asyncio.create_task(session.send_request(p.DeliverSm()))
        request = await _read_pdu(reader)
        writer.write(
            encode(p.GenericNack(command_status=8, sequence_number=request.sequence_number))
        )

        assert await send == p.GenericNack(command_status=8, sequence_number=1)


async def test_response_of_the_wrong_type_fails_the_request() -> None:
    async with raw_peer() as (session, reader, writer):
        send = asyncio.create_task(session.send_request(p.DeliverSm()))
        request = await _read_pdu(reader)
        writer.write(encode(p.SubmitSmResp(sequence_number=request.sequence_number)))

        with pytest.raises(UnexpectedResponseError):
            await send


async def test_undecodable_response_fails_the_request_with_the_decode_error() -> None:
    async with raw_peer() as (session, reader, writer):
        send = asyncio.create_task(session.send_request(p.DeliverSm()))
        request = await _read_pdu(reader)
        writer.write(_raw(0x80000005, b"no terminator", sequence=request.sequence_number))

        with pytest.raises(PduDecodeError):
            await send
        assert not session.closed


async def test_handler_failure_is_answered_with_rsyserr() -> None:
    async def broken(request: p.Pdu) -> p.Pdu:
        raise RuntimeError("boom")

    async with session_pair(server_handler=broken) as (client, _):
        response = await client.send_request(p.SubmitSm(destination_addr="1"))

        assert response == p.SubmitSmResp(command_status=S.ESME_RSYSERR, sequence_number=1)


async def test_requests_beyond_max_concurrent_are_throttled() -> None:
    release = asyncio.Event()

    async def slow(request: p.Pdu) -> p.Pdu:
        await release.wait()
        return p.SubmitSmResp(message_id="ok")

    async with session_pair(server_handler=slow, max_concurrent_requests=2, window=5) as (
        client,
        _,
    ):
        sends = [
            asyncio.create_task(client.send_request(p.SubmitSm(destination_addr=str(i))))
            for i in range(3)
        ]
        await asyncio.sleep(0.2)
        release.set()
        statuses = sorted(r.command_status for r in await asyncio.gather(*sends))

        assert statuses == [0, 0, S.ESME_RTHROTTLED]


async def test_unbind_is_confirmed_and_both_sides_close() -> None:
    async with session_pair() as (client, server):
        await client.unbind(response_timeout=2)

        await asyncio.wait_for(server.wait_closed(), 2)
        assert client.closed
        assert "unbound by the peer" in str(server.close_reason)


async def test_unbind_waits_for_requests_in_progress() -> None:
    async def slowish(request: p.Pdu) -> p.Pdu:
        await asyncio.sleep(0.1)
        return p.SubmitSmResp(message_id="done")

    async with raw_peer(slowish) as (_session, reader, writer):
        writer.write(encode(p.SubmitSm(sequence_number=1, destination_addr="1")))
        writer.write(encode(p.Unbind(sequence_number=2)))

        first, second = await _read_pdu(reader), await _read_pdu(reader)

        assert first == p.SubmitSmResp(message_id="done", sequence_number=1)
        assert second == p.UnbindResp(sequence_number=2)


async def test_on_unbind_runs_before_unbind_resp_and_its_failure_does_not_stop_it() -> None:
    """A server frees what the binding held before the ESME hears unbind_resp (the SMPP
    gateway releases the session's slot in core), even when that fails."""
    events: list[str] = []

    async def freed() -> None:
        await asyncio.sleep(0.1)
        events.append("freed")
        raise RuntimeError("core is away")

    async with raw_peer(on_unbind=freed) as (session, reader, writer):
        writer.write(encode(p.Unbind(sequence_number=7)))
        answer = await _read_pdu(reader)
        events.append("unbind_resp")

        assert answer == p.UnbindResp(sequence_number=7)
        assert events == ["freed", "unbind_resp"]
        await asyncio.wait_for(session.wait_closed(), 2)


async def test_outbind_reaches_the_handler_and_needs_no_response() -> None:
    seen: asyncio.Future[p.Pdu] = asyncio.get_running_loop().create_future()

    async def record(request: p.Pdu) -> p.Pdu | None:
        seen.set_result(request)
        return None

    async with raw_peer(record) as (session, _reader, writer):
        writer.write(encode(p.Outbind(sequence_number=1, system_id="smsc", password="pw")))

        assert await asyncio.wait_for(seen, 2) == p.Outbind(
            sequence_number=1, system_id="smsc", password="pw"
        )
        assert not session.closed


async def test_send_request_refuses_a_pdu_without_a_response() -> None:
    async with session_pair() as (client, _):
        with pytest.raises(ValueError, match="not a request"):
            await client.send_request(p.SubmitSmResp())
