"""Requests aiohttp cannot parse, answered in the partner's protocol and logged masked.

aiohttp answers a request it cannot parse (a request line over its limit, a malformed
header) itself: it logs the exception, whose text quotes the request line — for HTTP v5
a GET with ``pass=…&clientId=…&message=…`` —, and echoes it in a plain-text 400 (issue
14). ``PartnerSafeRunner`` serves the app with a request handler that does neither: the
log says what failed and where from, never what was sent, and a request line that is
recognisably HTTP v5's gets v5's documented answer (414 when the line is too long: only
a long ``message`` makes it so; 400 otherwise). Other parse errors get a short text of
their status alone.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from aiohttp import web, web_protocol
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong

from gateways.rest.http_v5_parsing import V5Error, render_error

log = logging.getLogger("gateways.rest")
# aiohttp's C parser quotes the URL alone, its Python parser the whole line.
_V5_PREFIXES = (b"/api/http/v5/", b"GET /api/http/v5/", b"POST /api/http/v5/")


class _PartnerSafeHandler(web_protocol.RequestHandler):
    def handle_error(
        self,
        request: Any,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError):
            # Our own handlers' failures: aiohttp's generic 500 (its log is redacted by
            # rcs_runtime.logging, as every line is).
            return super().handle_error(request, status, exc, message)
        line = _line_of(exc)
        v5 = line.startswith(_V5_PREFIXES)
        log.warning(
            "http_request_unparsed",
            extra={
                "remote_ip": request.remote or "",
                "status": status,
                "error": type(exc).__name__,
                "api": "http_v5" if v5 else "",
            },
        )
        if request.writer.output_size > 0:
            raise ConnectionError("response already started; cannot answer the parse error")
        if v5:
            error = (
                V5Error(414, "the request line is too long: send long texts by POST")
                if isinstance(exc, LineTooLong)
                else V5Error(400, "the HTTP request is malformed")
            )
            answer = render_error(error, xml=False)
            resp = web.Response(
                status=answer.status, text=answer.body, content_type=answer.content_type
            )
        else:
            phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
            resp = web.Response(status=status, text=f"{status} {phrase}".strip())
        resp.force_close()
        return resp


def _line_of(exc: HttpProcessingError) -> bytes:
    """The start of what could not be parsed, when the exception carries it."""
    if isinstance(exc, LineTooLong) and exc.args:
        first = exc.args[0]
        if isinstance(first, bytes | bytearray):
            return bytes(first)
        return str(first).encode(errors="replace")
    return b""


class _PartnerSafeServer(web.Server):
    __slots__ = ()

    def __call__(self) -> web_protocol.RequestHandler:
        return _PartnerSafeHandler(self, loop=self._loop, **self._kwargs)


class PartnerSafeRunner(web.AppRunner):
    """``web.AppRunner`` whose connections are handled by ``_PartnerSafeHandler``."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _PartnerSafeServer  # same layout: only __call__ differs
        return server
