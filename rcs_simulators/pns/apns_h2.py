"""APNs over HTTP/2 + TLS: h2's state machine driven straight from an asyncio Protocol.

No ASGI server in between (hypercorn cost 1.2–1.5 ms of CPU per push): each read is fed to
h2 once, every request it completes is answered, and all the frames that makes go out in one
write. Windows are opened wide once so that flow control never costs a WINDOW_UPDATE per
push. h2 checks no header it receives or sends (it would per header, per request): rpns is
the client under test and the simulator answers what it sees."""

from __future__ import annotations

import asyncio
import logging
from typing import cast

import h2.connection
import h2.events
import h2.exceptions
import h2.settings

from rcs_runtime.h2_lean import WINDOW, PlainEncoder, unchecked_config
from rcs_simulators.pns.plain_http import answer_request, encode_body
from rcs_simulators.pns.services import Services

log = logging.getLogger(__name__)

# APNs lets a provider multiplex about a thousand streams on one connection.
MAX_CONCURRENT_STREAMS = 1000
_CONFIG = unchecked_config(client_side=False)


class _Request:
    __slots__ = ("body", "headers")

    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.headers = headers
        self.body: list[bytes] = []


class ApnsH2(asyncio.Protocol):
    """One TLS connection from a provider, any number of streams on it."""

    def __init__(
        self, services: Services, answer_delay: float, *, max_streams: int = MAX_CONCURRENT_STREAMS
    ) -> None:
        self._services = services
        self._max_streams = max_streams
        self._delay = answer_delay
        self._conn = h2.connection.H2Connection(config=_CONFIG)
        self._conn.encoder = PlainEncoder()
        self._transport: asyncio.Transport | None = None
        self._requests: dict[int, _Request] = {}
        self._unsent: dict[int, bytes] = {}  # bodies waiting for the client's window
        self._received = 0  # connection-level bytes since the last WINDOW_UPDATE

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self._transport = cast(asyncio.Transport, transport)
        self._conn.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: self._max_streams,
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: WINDOW,
                h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: 2**16,
            },
        )
        self._conn.initiate_connection()
        self._conn.increment_flow_control_window(WINDOW - 65535)
        self._write()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._requests.clear()
        self._unsent.clear()

    def data_received(self, data: bytes) -> None:
        try:
            events = self._conn.receive_data(data)
        except h2.exceptions.ProtocolError as err:
            log.warning("apns_sim_protocol_error", extra={"error": str(err)})
            self._write()  # h2 has queued the GOAWAY
            if self._transport is not None:
                self._transport.close()
            return
        for event in events:
            if isinstance(event, h2.events.DataReceived):
                request = self._requests.get(event.stream_id)
                if request is not None:
                    request.body.append(event.data)
                self._received += event.flow_controlled_length
            elif isinstance(event, h2.events.RequestReceived):
                self._requests[event.stream_id] = _Request(event.headers)
            elif isinstance(event, h2.events.StreamEnded):
                self._request_complete(event.stream_id)
            elif isinstance(event, h2.events.StreamReset):
                self._requests.pop(event.stream_id, None)
                self._unsent.pop(event.stream_id, None)
            elif isinstance(event, h2.events.WindowUpdated):
                self._send_unsent()
            elif isinstance(event, h2.events.ConnectionTerminated):
                if self._transport is not None:
                    self._transport.close()
                return
        if self._received > WINDOW // 2:
            self._conn.increment_flow_control_window(self._received)
            self._received = 0
        self._write()

    def _request_complete(self, stream_id: int) -> None:
        request = self._requests.pop(stream_id, None)
        if request is None:
            return
        path = next((v for k, v in request.headers if k == b":path"), b"")
        if self._delay and not path.startswith(b"/control/"):
            # A distant service (the control API answers at once, as on the other port).
            loop = asyncio.get_running_loop()
            loop.call_later(self._delay, self._answer_later, stream_id, request)
            return
        self._answer(stream_id, request)

    def _answer_later(self, stream_id: int, request: _Request) -> None:
        if self._transport is None:
            return
        self._answer(stream_id, request)
        self._write()

    def _answer(self, stream_id: int, request: _Request) -> None:
        method = target = ""
        headers: dict[str, str] = {}
        for name, value in request.headers:
            if name[:1] == b":":
                if name == b":path":
                    target = value.decode("latin-1")
                elif name == b":method":
                    method = value.decode("latin-1")
            else:
                headers[name.decode("latin-1").lower()] = value.decode("latin-1")
        answer = answer_request(self._services, method, target, headers, b"".join(request.body))
        body = encode_body(answer)
        out = [(b":status", str(answer[0]).encode())]
        out += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer[1].items()]
        if answer[2] is not None:
            out.append((b"content-type", b"application/json"))
        out.append((b"content-length", str(len(body)).encode()))
        try:
            self._conn.send_headers(stream_id, out, end_stream=not body)
            if body:
                self._unsent[stream_id] = body
                self._send_unsent()
        except h2.exceptions.StreamClosedError:
            self._unsent.pop(stream_id, None)  # the client gave up on it

    def _send_unsent(self) -> None:
        """Bodies the client's flow-control windows let out now; the rest wait for one."""
        for stream_id, body in list(self._unsent.items()):
            try:
                room = self._conn.local_flow_control_window(stream_id)
            except h2.exceptions.StreamClosedError:
                del self._unsent[stream_id]
                continue
            room = min(room, self._conn.max_outbound_frame_size)
            if room <= 0:
                continue
            chunk, rest = body[:room], body[room:]
            self._conn.send_data(stream_id, chunk, end_stream=not rest)
            if rest:
                self._unsent[stream_id] = rest
            else:
                del self._unsent[stream_id]

    def _write(self) -> None:
        data = self._conn.data_to_send()
        if data and self._transport is not None:
            self._transport.write(data)
