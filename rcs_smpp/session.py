"""One SMPP connection over asyncio streams, for either side (ESME or SMSC).

The session frames and decodes PDUs, matches responses to the requests it sent (sequence
numbers 1..0x7FFFFFFF, a window of outstanding requests), answers enquire_link and unbind
itself, sends enquire_link after ``enquire_link_interval`` seconds without receiving anything,
and hands every other request to ``handler``, whose returned PDU it sends back with the
request's sequence number. Binding, authentication and throttling policies are the owner's.

Errors on the wire, as SMPP 3.4 section 4.3 asks:
- unusable command_length (< 16 or > ``max_pdu_length``): generic_nack, then close, since
  the byte stream cannot be resynchronised;
- unknown command_id: generic_nack with ESME_RINVCMDID, the session goes on;
- a known request with a bad body: its own response (e.g. submit_sm_resp) carrying the
  decoder's status (ESME_RINVSRCADR, ESME_RINVOPTPARSTREAM, ...), the session goes on;
- an unreadable response: the request waiting for it fails with the PduDecodeError.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Final

from rcs_smpp.codec import decode, encode, frame_length
from rcs_smpp.constants import (
    DEFAULT_MAX_PDU_LENGTH,
    MAX_SEQUENCE_NUMBER,
    RESPONSE_BIT,
    CommandStatus,
)
from rcs_smpp.errors import FramingError, PduDecodeError, PduEncodeError, SmppError
from rcs_smpp.pdu import (
    RESPONSE_TYPES,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    Unbind,
    UnbindResp,
    make_response,
)

log = logging.getLogger(__name__)

Handler = Callable[[Pdu], Awaitable[Pdu | None]]
"""Answers one request. Return its response (the session sets the sequence number), or None
for a request that has none (outbind). Raising answers ESME_RSYSERR."""

_REQUEST_TYPES: Final = {t.command_id: t for t in RESPONSE_TYPES}


class SessionClosedError(SmppError, ConnectionError):
    """The session is closed, or the connection was lost while a request was outstanding."""


class ResponseTimeoutError(SmppError, TimeoutError):
    """No response arrived within the request's timeout."""


class UnexpectedResponseError(SmppError):
    """The peer answered a request with a response of another type."""


class SmppSession:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        handler: Handler,
        *,
        window: int = 10,
        response_timeout: float = 30.0,
        enquire_link_interval: float | None = 30.0,
        max_pdu_length: int = DEFAULT_MAX_PDU_LENGTH,
        max_concurrent_requests: int = 100,
        name: str = "smpp",
        on_unbind: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """``window``: requests we may have outstanding; ``send_request`` waits for a slot.
        ``max_concurrent_requests``: peer requests handled at once; beyond it the peer is
        ignoring its own window and gets ESME_RTHROTTLED (reading never stops, so responses
        to our requests are never stuck behind a busy handler). ``on_unbind``: awaited when
        the peer unbinds, after the requests in progress are answered and before
        unbind_resp (a server frees what the binding held, so that a bind right after
        unbind_resp finds it free); it should bound its own wait, and its failure is logged."""
        self.name = name
        self._reader = reader
        self._writer = writer
        self._handler = handler
        self._on_unbind_hook = on_unbind
        self._window = asyncio.Semaphore(window)
        self._response_timeout = response_timeout
        self._enquire_link_interval = enquire_link_interval
        self._max_pdu_length = max_pdu_length
        self._max_concurrent = max_concurrent_requests
        self._sequence = 0
        self._pending: dict[int, tuple[asyncio.Future[Pdu], type[Pdu]]] = {}
        self._handlers: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._last_received = 0.0
        self._closed = asyncio.Event()
        self._close_error: SessionClosedError | None = None
        # Frames written in one event-loop turn leave in one write (one syscall): under
        # load that is most of a window's responses at once.
        self._out: list[bytes] = []
        self._flush_scheduled = False

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start reading (and the enquire_link timer). Call once, inside the event loop."""
        if self._tasks:
            raise RuntimeError("session already started")
        self._last_received = asyncio.get_running_loop().time()
        self._tasks.append(asyncio.create_task(self._read_loop(), name=f"{self.name}-read"))
        if self._enquire_link_interval is not None:
            self._tasks.append(
                asyncio.create_task(self._keepalive_loop(), name=f"{self.name}-keepalive")
            )

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    @property
    def close_reason(self) -> SessionClosedError | None:
        return self._close_error

    @property
    def outstanding(self) -> int:
        """Requests sent and not yet answered."""
        return len(self._pending)

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def close(self) -> None:
        """Close without unbinding; outstanding requests fail with SessionClosedError."""
        self._shutdown(SessionClosedError(f"{self.name}: closed"))
        current = asyncio.current_task()
        tasks = [t for t in (*self._tasks, *self._handlers) if t is not current]
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    async def unbind(self, response_timeout: float | None = None) -> None:
        """Send unbind, wait for unbind_resp (or the timeout), then close."""
        try:
            await self.send_request(Unbind(), response_timeout)
        except (SessionClosedError, ResponseTimeoutError) as e:
            log.info("%s: unbind not acknowledged: %s", self.name, e)
        finally:
            await self.close()

    async def __aenter__(self) -> SmppSession:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _shutdown(self, error: SessionClosedError) -> None:
        """Mark closed, fail every waiting request, stop the tasks, drop the connection."""
        if self._closed.is_set():
            return
        self._close_error = error
        self._closed.set()
        for future, _ in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self._pending.clear()
        current = asyncio.current_task()
        for task in (*self._tasks, *self._handlers):
            if task is not current:
                task.cancel()
        self._flush()  # e.g. the unbind_resp written just before
        self._writer.close()

    # -- sending --------------------------------------------------------------------------

    async def send_request(self, pdu: Pdu, response_timeout: float | None = None) -> Pdu:
        """Send ``pdu`` (its sequence_number is assigned here) and return the response,
        whatever its command_status; a generic_nack is returned as the response too.

        Waits for a window slot first; ``response_timeout`` (default: the session's) counts
        from the write, not from that wait, hence not a plain ``timeout``. Raises
        ResponseTimeoutError when it expires, SessionClosedError if the connection goes away,
        PduEncodeError for a PDU that cannot be encoded.
        """
        response_type = RESPONSE_TYPES.get(type(pdu))
        if response_type is None:
            raise ValueError(f"{type(pdu).__name__} is not a request with a response")
        async with self._window:
            self._raise_if_closed()
            sequence = self._next_sequence()
            pdu.sequence_number = sequence
            frame = encode(pdu)
            future: asyncio.Future[Pdu] = asyncio.get_running_loop().create_future()
            self._pending[sequence] = (future, response_type)
            try:
                await self._write(frame)
                return await asyncio.wait_for(
                    future, self._response_timeout if response_timeout is None else response_timeout
                )
            except TimeoutError:
                raise ResponseTimeoutError(
                    f"{self.name}: no response to {type(pdu).__name__} #{sequence}"
                ) from None
            finally:
                self._pending.pop(sequence, None)
                if future.done() and not future.cancelled():
                    future.exception()  # retrieved: no "never retrieved" noise if unawaited

    def _next_sequence(self) -> int:
        while True:
            self._sequence = self._sequence % MAX_SEQUENCE_NUMBER + 1
            if self._sequence not in self._pending:
                return self._sequence

    def _raise_if_closed(self) -> None:
        if self._close_error is not None:
            raise SessionClosedError(str(self._close_error))

    async def _write(self, frame: bytes) -> None:
        self._raise_if_closed()
        self._out.append(frame)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)
        try:
            await self._writer.drain()  # backpressure from what earlier flushes left
        except (ConnectionError, OSError) as e:
            error = SessionClosedError(f"{self.name}: connection lost while writing: {e}")
            self._shutdown(error)
            raise error from e

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._out or self._writer.is_closing():
            self._out.clear()
            return
        data = b"".join(self._out)
        self._out.clear()
        try:
            self._writer.write(data)
        except (ConnectionError, OSError) as e:  # the reader sees the loss and shuts down
            log.debug("%s: write failed: %s", self.name, e)

    async def _send_response(self, response: Pdu) -> None:
        try:
            await self._write(encode(response))
        except SessionClosedError:
            log.debug("%s: connection gone, %s dropped", self.name, type(response).__name__)

    # -- receiving ------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        loop = asyncio.get_running_loop()
        error: SessionClosedError
        try:
            while True:
                header = await self._reader.readexactly(4)
                try:
                    length = frame_length(header, self._max_pdu_length)
                except FramingError as e:
                    log.warning("%s: %s; closing", self.name, e)
                    await self._send_response(GenericNack(command_status=e.status))
                    error = SessionClosedError(f"{self.name}: broken framing: {e}")
                    break
                frame = header + await self._reader.readexactly(length - 4)
                self._last_received = loop.time()
                try:
                    pdu = decode(frame)
                except PduDecodeError as e:
                    await self._on_undecodable(e)
                    continue
                if pdu.is_response:
                    self._on_response(pdu)
                elif isinstance(pdu, Unbind):
                    await self._on_unbind(pdu)
                    error = SessionClosedError(f"{self.name}: unbound by the peer")
                    break
                elif isinstance(pdu, EnquireLink):
                    await self._send_response(EnquireLinkResp(sequence_number=pdu.sequence_number))
                else:
                    self._dispatch(pdu)
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as e:
            error = SessionClosedError(f"{self.name}: connection lost: {e!r}")
        except Exception as e:  # a bug here must still close the session and fail waiters
            log.exception("%s: reader failed", self.name)
            error = SessionClosedError(f"{self.name}: reader failed: {e!r}")
        self._shutdown(error)

    def _on_response(self, pdu: Pdu) -> None:
        entry = self._pending.get(pdu.sequence_number)
        if entry is None:
            log.warning(
                "%s: %s #%d matches no outstanding request",
                self.name,
                type(pdu).__name__,
                pdu.sequence_number,
            )
            return
        future, expected = entry
        if future.done():
            return
        if isinstance(pdu, (expected, GenericNack)):
            future.set_result(pdu)
        else:
            future.set_exception(
                UnexpectedResponseError(
                    f"{self.name}: expected {expected.__name__}, got {type(pdu).__name__}"
                )
            )

    async def _on_undecodable(self, error: PduDecodeError) -> None:
        command_id = error.command_id or 0
        sequence = error.sequence_number or 0
        log.warning("%s: undecodable PDU #%d: %s", self.name, sequence, error)
        if command_id & RESPONSE_BIT:
            entry = self._pending.get(sequence)
            if entry is not None and not entry[0].done():
                entry[0].set_exception(error)
            return
        request_type = _REQUEST_TYPES.get(command_id)
        if request_type is None or error.status in (
            CommandStatus.ESME_RINVCMDID,
            CommandStatus.ESME_RINVCMDLEN,
        ):
            response: Pdu = GenericNack(command_status=error.status, sequence_number=sequence)
        else:
            response = RESPONSE_TYPES[request_type](
                command_status=error.status, sequence_number=sequence
            )
        await self._send_response(response)

    async def _on_unbind(self, request: Unbind) -> None:
        # Let requests already being handled send their responses before we confirm (bounded:
        # a handler stuck on a request of its own must not hold the unbind forever).
        if self._handlers:
            await asyncio.wait(set(self._handlers), timeout=self._response_timeout)
        if self._on_unbind_hook is not None:
            try:
                await self._on_unbind_hook()
            except Exception:
                log.exception("%s: on_unbind failed", self.name)
        await self._send_response(UnbindResp(sequence_number=request.sequence_number))
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.drain()

    def _dispatch(self, request: Pdu) -> None:
        if len(self._handlers) >= self._max_concurrent:
            log.warning("%s: %d requests in progress, throttling", self.name, len(self._handlers))
            task = asyncio.create_task(
                self._send_response(make_response(request, CommandStatus.ESME_RTHROTTLED))
            )
        else:
            task = asyncio.create_task(self._handle(request))
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    async def _handle(self, request: Pdu) -> None:
        try:
            response = await self._handler(request)
        except Exception:
            log.exception("%s: handler failed on %s", self.name, type(request).__name__)
            response = make_response(request, CommandStatus.ESME_RSYSERR)
        if response is None:
            if type(request) not in RESPONSE_TYPES:
                return
            log.error("%s: handler gave no response to %s", self.name, type(request).__name__)
            response = make_response(request, CommandStatus.ESME_RSYSERR)
        response.sequence_number = request.sequence_number
        try:
            frame = encode(response)
        except PduEncodeError:
            log.exception("%s: handler's response cannot be encoded", self.name)
            frame = encode(make_response(request, CommandStatus.ESME_RSYSERR))
        with contextlib.suppress(SessionClosedError):
            await self._write(frame)

    async def _keepalive_loop(self) -> None:
        interval = self._enquire_link_interval
        assert interval is not None
        loop = asyncio.get_running_loop()
        while True:
            idle = loop.time() - self._last_received
            if idle < interval:
                await asyncio.sleep(interval - idle)
                continue
            try:
                await self.send_request(EnquireLink())
            except ResponseTimeoutError:
                log.warning("%s: enquire_link unanswered; closing", self.name)
                self._shutdown(SessionClosedError(f"{self.name}: enquire_link unanswered"))
                return
            except SessionClosedError:
                return
            except SmppError as e:  # a garbled answer still proves the peer is there
                log.warning("%s: odd enquire_link answer: %s", self.name, e)
