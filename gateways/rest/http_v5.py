"""Rapporto HTTP API v5 send: ``GET`` and form ``POST`` at ``/api/http/v5/send``.

The handler only orchestrates, as the v6 one does: collect the parameters (query, and the
form body of a POST), parse them (``http_v5_parsing``), authenticate through core's
AuthService (``auth``), call ``MessageService.SubmitMessages`` and render the v5 answer.
Every refusal is rendered here in the v5 format (text or XML), so the ``observe`` middleware
sees a response, never a v6 JSON error.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from aiohttp import hdrs, web

from gateways.rest.body import read_body
from gateways.rest.http_v5_parsing import (
    Answer,
    V5Error,
    collect,
    credentials,
    decode_form,
    parse_send,
    parse_urlencoded,
    render_error,
    render_ok,
    sniff_xml,
    wants_xml,
)
from gateways.rest.observability import MASKED_DEST, PARTNER
from gateways.rest.parsing import MAX_BODY_BYTES
from gateways.rest.pushback import PushedBackError
from rcs_runtime.errors import RcsError
from rcs_runtime.logging import mask_number

if TYPE_CHECKING:
    from gateways.rest.app import Gateway

PATH = "/api/http/v5/send"
ROUTE_NAME = "http_v5_send"
log = logging.getLogger("gateways.rest")


def add_http_v5_routes(app: web.Application, gateway: Gateway) -> None:
    """Serve GET and POST ``/api/http/v5/send`` against ``gateway``'s core."""
    handler = HttpV5Send(gateway).handle
    resource = app.router.add_resource(PATH, name=ROUTE_NAME)
    resource.add_route(hdrs.METH_GET, handler)
    resource.add_route(hdrs.METH_POST, handler)


# http_sms.rst: 408 "exceeds the allowed rate", retry within it; 500: "pause at least one
# minute" before repeating. Retry-After says the same to a client that reads it.
_RETRY_AFTER = {408: "1", 500: "60"}


def _response(answer: Answer) -> web.Response:
    retry = _RETRY_AFTER.get(answer.status)
    return web.Response(
        text=answer.body,
        status=answer.status,
        content_type=answer.content_type,
        charset="utf-8",
        headers={"Retry-After": retry} if retry else None,
    )


async def _body(request: web.Request) -> bytes:
    """A POST's body (b"" for GET), at most MAX_BODY_BYTES."""
    if request.method != hdrs.METH_POST:
        return b""
    return await read_body(request, MAX_BODY_BYTES)


def _params(request: web.Request, body: bytes) -> dict[str, str]:
    """The request's parameters: the query (UTF-8, as the spec requires for GET) and, for a
    POST, the form body in its declared charset."""
    query = parse_urlencoded(request.rel_url.raw_query_string, "utf-8")
    if request.method != hdrs.METH_POST:
        return collect(query)
    return collect(query, decode_form(body, request.content_type, request.charset))


class HttpV5Send:
    """The handler of both methods."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            with self._gateway.in_flight.admit():
                return await self._handle(request)
        except PushedBackError as err:
            xml = sniff_xml(request.rel_url.raw_query_string, b"")
            return _response(render_error(V5Error.from_rcs(err), xml=xml))

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = b""
        try:
            body = await _body(request)
            params = _params(request, body)
        except RcsError as err:
            xml = sniff_xml(request.rel_url.raw_query_string, body)
            return _response(render_error(V5Error.from_rcs(err), xml=xml))
        xml = wants_xml(params)
        try:
            message_id = await self._send(request, params)
        except RcsError as err:
            return _response(render_error(V5Error.from_rcs(err), xml=xml))
        except V5Error as err:
            return _response(render_error(err, xml=xml))
        except Exception:
            log.exception("rest_unhandled", extra={"route": ROUTE_NAME})
            return _response(render_error(V5Error(500), xml=xml))
        return _response(render_ok(message_id, xml=xml))

    async def _send(self, request: web.Request, params: dict[str, str]) -> str:
        gateway = self._gateway
        login, password = credentials(params)
        request[PARTNER] = login
        # The login's service decides the type of a request without order_list, so the
        # credentials are checked before the message's own parameters.
        grant = await gateway.auth.grant(login, password, request.remote or "")
        req = parse_send(params, grant.service_type, grant.default_ttl_seconds)
        request[MASKED_DEST] = mask_number(req.client_id)
        submission = req.submission(dt.datetime.now(dt.UTC), grant.default_ttl_seconds)
        return await gateway.submit_one(req.login, submission)
