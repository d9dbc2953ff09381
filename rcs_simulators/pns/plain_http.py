"""FCM, HMS, RuStore and /control over HTTP/1.1 keep-alive: an asyncio Protocol around
httptools (llhttp, in C). No framework, no routing table, no access log, one write per
batch of answers: the simulator stands in for a remote service in load runs, so its CPU per
request must stay a small share of what it measures (docs/benchmarks.md)."""

from __future__ import annotations

import asyncio
import http
import logging
import urllib.parse
from collections import deque
from typing import cast

import httptools
import orjson

from rcs_simulators.pns.control import control
from rcs_simulators.pns.services import Answer, Services

log = logging.getLogger(__name__)

_REASONS = {s.value: s.phrase for s in http.HTTPStatus}


def encode_body(answer: Answer) -> bytes:
    """The JSON body of an answer (empty when it has none)."""
    return b"" if answer[2] is None else orjson.dumps(answer[2])


def answer_request(
    services: Services, method: str, target: str, headers: dict[str, str], body: bytes
) -> Answer:
    """The control API or the push services, for both ports; a bug answers 500."""
    path, _, query = target.partition("?")
    if "%" in path:
        path = urllib.parse.unquote(path)
    try:
        if path.startswith("/control/"):
            return control(services, method, path, query, body)
        return services.handle(method, path, headers, body)
    except Exception:
        log.exception("pns_simulator_answer_failed", extra={"path": path})
        return 500, {}, {"error": "the simulator failed on this request: see its log"}


# The head of most answers (a JSON body, no extra header, kept alive), made once.
_JSON_HEADS = {
    status: f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: "
    for status, reason in _REASONS.items()
}


def _http1(answer: Answer, *, close: bool) -> bytes:
    status, extra, payload = answer
    body = encode_body(answer)
    if payload is not None and not extra and not close and status in _JSON_HEADS:
        return f"{_JSON_HEADS[status]}{len(body)}\r\n\r\n".encode() + body
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}"]
    lines += [f"{k}: {v}" for k, v in extra.items()]
    if payload is not None:
        lines.append("content-type: application/json")
    lines.append(f"content-length: {len(body)}")
    if close:
        lines.append("connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Slot:
    """A request's place in its connection's answer order."""

    __slots__ = ("close", "data")

    def __init__(self, close: bool, data: bytes | None = None) -> None:
        self.close = close
        self.data = data


class PlainHttp(asyncio.Protocol):
    """One client connection. Answers go out in request order (pipelining is allowed),
    each as soon as it and every earlier one are ready."""

    def __init__(self, services: Services, answer_delay: float) -> None:
        self._services = services
        self._delay = answer_delay
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._slots: deque[_Slot] = deque()  # requests not answered on the wire yet

    # asyncio.Protocol --------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as err:
            bad: Answer = 400, {}, {"error": f"malformed HTTP/1.1 request: {err}"}
            self._slots.append(_Slot(True, _http1(bad, close=True)))
        self._flush()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    # httptools callbacks -----------------------------------------------------------
    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._body = []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))  # decoded once the request is whole

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        method = self._parser.get_method().decode("latin-1")
        close = not self._parser.should_keep_alive()
        target, body = self._url.decode("latin-1"), b"".join(self._body)
        headers = {n.decode("latin-1").lower(): v.decode("latin-1") for n, v in self._headers}
        slot = _Slot(close)
        self._slots.append(slot)
        if self._delay and not target.startswith("/control/"):
            # A distant service: the answer comes later, the connection keeps reading.
            loop = asyncio.get_running_loop()
            loop.call_later(self._delay, self._answer_later, slot, method, target, headers, body)
            return
        answer = answer_request(self._services, method, target, headers, body)
        slot.data = _http1(answer, close=close)

    # ------------------------------------------------------------------------------
    def _answer_later(
        self,
        slot: _Slot,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
    ) -> None:
        answer = answer_request(self._services, method, target, headers, body)
        slot.data = _http1(answer, close=slot.close)
        self._flush()

    def _flush(self) -> None:
        out: list[bytes] = []
        close = False
        while self._slots:
            data = self._slots[0].data
            if data is None:
                break  # an earlier request's answer is still being made
            close = self._slots.popleft().close
            out.append(data)
            if close:
                self._slots.clear()
                break
        if self._transport is None or not out:
            return
        self._transport.write(b"".join(out))
        if close:
            self._transport.close()
