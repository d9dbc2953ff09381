"""The gateway's listening socket, with a limit on connections open at once.

Slow clients are bounded three ways: headers (aiohttp closes a connection still waiting for
a request's headers when its keep-alive timeout, RCS_HEADER_TIMEOUT_SECONDS, ends), bodies
(``body.read_body``), and here the number of connections: beyond RCS_MAX_CONNECTIONS a new
connection is answered 503 with Retry-After and closed instead of taking a handler.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time

from aiohttp import web

log = logging.getLogger("gateways.rest")
RETRY_AFTER_SECONDS = 1
LOG_EVERY_SECONDS = 60.0
_REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Retry-After: " + str(RETRY_AFTER_SECONDS).encode() + b"\r\n"
    b"Connection: close\r\n"
    b"Content-Length: 38\r\n\r\n"
    b"too many connections: retry in a while"
)


class _Refuse(asyncio.Protocol):
    """Answers 503 at once and closes: the client learns why instead of hanging."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(_REFUSAL)
        transport.close()


class LimitedSite(web.TCPSite):
    """A TCPSite that hands at most ``max_connections`` connections to aiohttp at once
    (counted over every site of the runner: plain and HTTPS share the limit)."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        *,
        max_connections: int,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(runner, host, port, ssl_context=ssl_context)
        self._max_connections = max_connections

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with the runner
        server = self._runner.server
        assert server is not None
        limit = self._max_connections

        refused, logged_at = 0, float("-inf")

        def protocol() -> asyncio.BaseProtocol:
            nonlocal refused, logged_at
            if len(server.connections) < limit:
                return server()
            refused += 1
            now = time.monotonic()
            if now - logged_at >= LOG_EVERY_SECONDS:  # a flood of them logs once a minute
                log.warning("rest_connections_refused", extra={"open": limit, "count": refused})
                refused, logged_at = 0, now
            return _Refuse()

        self._server = await asyncio.get_running_loop().create_server(
            protocol, self._host, self._port, ssl=self._ssl_context, backlog=self._backlog
        )
        self._bound_port = self._server.sockets[0].getsockname()[1]
