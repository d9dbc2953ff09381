"""APNs's transport: HTTP/2 over TLS with h2's state machine driven from an asyncio
Protocol, many concurrent streams on one connection per origin.

httpx + httpcore cost ≈ 1.9 ms of CPU per push (pool scans, anyio, per-request objects and
locks, a write per frame): more than all the rest of a delivery. Here a request is one h2
stream: its frames are queued and every frame the loop's turn made goes out in one write;
responses wake their waiter from data_received. Streams beyond the server's
MAX_CONCURRENT_STREAMS wait for one to end; a second connection opens only when every one
is full (up to ``connections``). Windows are opened wide once so that no WINDOW_UPDATE is
sent per response. Header blocks are HPACK-encoded without Huffman coding (optional in
HPACK, and pure-Python Huffman is the larger part of encoding a block)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import ssl
import urllib.parse
from collections.abc import Mapping
from typing import cast

import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

from rcs_rpns.providers.transport import Reply, TransportError
from rcs_runtime.h2_lean import WINDOW, PlainEncoder, unchecked_config

log = logging.getLogger(__name__)

_CONFIG = unchecked_config(client_side=True)
Headers = list[tuple[bytes, bytes]]


class _Stream:
    __slots__ = ("body", "data", "done", "headers", "status")

    def __init__(self, done: asyncio.Future[None], data: bytes) -> None:
        self.done = done
        self.data = data  # request body not yet sent (the server's window was full)
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []


class _Connection(asyncio.Protocol):
    """One HTTP/2 connection: the streams in flight on it and their waiters."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._h2 = h2.connection.H2Connection(config=_CONFIG)
        self._h2.encoder = PlainEncoder()
        self._transport: asyncio.Transport | None = None
        self._streams: dict[int, _Stream] = {}
        self._flush_soon = False
        self._received = 0  # response bytes since the last connection WINDOW_UPDATE
        self._settled = loop.create_future()  # the server's first SETTINGS arrived
        # Resolved when a stream ends or the stream limit rises: requests waiting for room.
        self._room: asyncio.Future[None] | None = None
        self.closed = False

    # asyncio.Protocol --------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self._transport = cast(asyncio.Transport, transport)
        self._h2.local_settings = h2.settings.Settings(
            client=True,
            initial_values={
                h2.settings.SettingCodes.ENABLE_PUSH: 0,
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: WINDOW,
                h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: 2**16,
            },
        )
        self._h2.initiate_connection()
        self._h2.increment_flow_control_window(WINDOW - 65535)
        self._flush()

    def data_received(self, data: bytes) -> None:
        try:
            events = self._h2.receive_data(data)
        except h2.exceptions.ProtocolError as err:
            log.warning("apns_protocol_error", extra={"error": str(err)})
            self._fail_all("ProtocolError")
            self._flush()
            self.close()
            return
        room = False
        for event in events:
            if isinstance(event, h2.events.DataReceived):
                stream = self._streams.get(event.stream_id)
                if stream is not None:
                    stream.body.append(event.data)
                self._received += event.flow_controlled_length or 0
            elif isinstance(event, h2.events.ResponseReceived):
                stream = self._streams.get(event.stream_id)
                if stream is not None:
                    for name, value in event.headers or ():
                        if name == b":status":
                            stream.status = int(value)
                        else:
                            stream.headers[bytes(name).decode("latin-1")] = bytes(value).decode(
                                "latin-1"
                            )
            elif isinstance(event, h2.events.StreamEnded):
                self._end(event.stream_id, None)
                room = True
            elif isinstance(event, h2.events.StreamReset):
                self._end(event.stream_id, "StreamReset")
                room = True
            elif isinstance(event, h2.events.RemoteSettingsChanged):
                if not self._settled.done():
                    self._settled.set_result(None)
                room = True
            elif isinstance(event, h2.events.WindowUpdated):
                self._send_bodies()
            elif isinstance(event, h2.events.ConnectionTerminated):
                # GOAWAY: streams above last_stream_id were not processed; retry them.
                self.closed = True
                last = event.last_stream_id or 0
                for stream_id in [s for s in self._streams if s > last]:
                    self._end(stream_id, "GoAway")
                room = True
        if self._received > WINDOW // 2:
            self._h2.increment_flow_control_window(self._received)
            self._received = 0
        self._flush()
        if room:
            self._notify()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._transport = None
        if not self._settled.done():
            self._settled.set_exception(TransportError("ConnectionLost"))
            self._settled.exception()  # retrieved: a waiter may be gone already
        self._fail_all("ConnectionLost")
        self._notify()

    # requests ----------------------------------------------------------------------
    async def settled(self, within: float) -> None:
        async with asyncio.timeout(within):
            await self._settled

    def free(self) -> int:
        """Streams this connection can open now."""
        if self.closed:
            return 0
        return self._h2.remote_settings.max_concurrent_streams - len(self._streams)

    async def wait_room(self) -> None:
        if self._room is None:
            self._room = self._loop.create_future()
        await asyncio.shield(self._room)

    async def request(self, headers: Headers, body: bytes, within: float) -> Reply:
        stream_id = self._h2.get_next_available_stream_id()
        stream = _Stream(self._loop.create_future(), body)
        try:
            self._h2.send_headers(stream_id, headers, end_stream=not body)
        except h2.exceptions.ProtocolError as err:  # the connection is going away
            self.closed = True
            raise TransportError(type(err).__name__) from err
        self._streams[stream_id] = stream
        self._send_bodies()
        self._schedule_flush()
        try:
            async with asyncio.timeout(within):
                await stream.done
        except TimeoutError:
            if self._streams.pop(stream_id, None) is not None and not self.closed:
                with contextlib.suppress(h2.exceptions.StreamClosedError):
                    self._h2.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)
                self._schedule_flush()
                self._notify()
            raise TransportError("Timeout") from None
        return Reply(stream.status, stream.headers, b"".join(stream.body))

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    # ------------------------------------------------------------------------------
    def _end(self, stream_id: int, error: str | None) -> None:
        stream = self._streams.pop(stream_id, None)
        if stream is None or stream.done.done():
            return
        if error is None:
            stream.done.set_result(None)
        else:
            stream.done.set_exception(TransportError(error))

    def _fail_all(self, error: str) -> None:
        for stream_id in list(self._streams):
            self._end(stream_id, error)

    def _send_bodies(self) -> None:
        """Request bodies (or their rest) that the server's windows let out now."""
        for stream_id, stream in self._streams.items():
            if not stream.data:
                continue
            try:
                room = min(
                    self._h2.local_flow_control_window(stream_id), self._h2.max_outbound_frame_size
                )
            except h2.exceptions.StreamClosedError:
                continue
            if room > 0:
                chunk, stream.data = stream.data[:room], stream.data[room:]
                self._h2.send_data(stream_id, chunk, end_stream=not stream.data)

    def _schedule_flush(self) -> None:
        # Every request made in this turn of the loop goes out in one write.
        if not self._flush_soon:
            self._flush_soon = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_soon = False
        data = self._h2.data_to_send()
        if data and self._transport is not None:
            self._transport.write(data)

    def _notify(self) -> None:
        if self._room is not None:
            self._room.set_result(None)
            self._room = None


class Http2:
    """POST over HTTP/2: up to ``connections`` TLS connections per origin, as many
    concurrent streams on each as the server allows."""

    def __init__(self, *, ssl_context: ssl.SSLContext | bool, timeout: float, connections: int):
        context = ssl_context if isinstance(ssl_context, ssl.SSLContext) else None
        if context is None:
            context = ssl.create_default_context()
            if ssl_context is False:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
        context.set_alpn_protocols(["h2"])
        self._ssl = context
        self._timeout = timeout
        self._max = max(1, connections)
        self._pools: dict[tuple[str, int], list[_Connection]] = collections.defaultdict(list)
        self._opening: dict[tuple[str, int], asyncio.Task[_Connection]] = {}

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        origin = (host, parts.port or 443)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        authority = parts.netloc.rpartition("@")[2]
        block: Headers = [
            (b":method", b"POST"),
            (b":scheme", b"https"),
            (b":authority", authority.encode()),
            (b":path", path.encode()),
        ]
        block += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        block.append((b"content-length", str(len(body)).encode()))
        try:
            async with asyncio.timeout(self._timeout):
                connection = await self._connection(origin)
        except TimeoutError:
            raise TransportError("ConnectTimeout") from None
        return await connection.request(block, body, self._timeout)

    async def _connection(self, origin: tuple[str, int]) -> _Connection:
        """A connection with room for one more stream, opened if none has and the pool
        may grow, else the first to free one."""
        while True:
            pool = self._pools[origin]
            pool[:] = [c for c in pool if not c.closed]
            best = max(pool, key=_Connection.free, default=None)
            if best is not None and best.free() > 0:
                return best
            if len(pool) < self._max:
                opening = self._opening.get(origin)
                if opening is None:
                    opening = asyncio.get_running_loop().create_task(self._open(origin))
                    self._opening[origin] = opening
                    opening.add_done_callback(lambda _: self._opening.pop(origin, None))
                connection = await asyncio.shield(opening)
                if connection not in pool:
                    pool.append(connection)
                if connection.free() > 0:
                    return connection
            if best is not None:
                await best.wait_room()
            else:
                await pool[0].wait_room()

    async def _open(self, origin: tuple[str, int]) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            transport, connection = await loop.create_connection(
                lambda: _Connection(loop), origin[0], origin[1], ssl=self._ssl
            )
        except (OSError, ssl.SSLError) as err:
            raise TransportError(type(err).__name__) from err
        tls = transport.get_extra_info("ssl_object")
        if tls is None or tls.selected_alpn_protocol() != "h2":
            connection.close()
            log.warning("apns_no_h2", extra={"host": origin[0], "port": origin[1]})
            raise TransportError("NoHttp2")  # the endpoint is not an HTTP/2 server
        try:
            await connection.settled(self._timeout)
        except BaseException:
            connection.close()
            raise
        return connection

    async def close(self) -> None:
        for pool in self._pools.values():
            for connection in pool:
                connection.close()
        self._pools.clear()
