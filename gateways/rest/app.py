"""The aiohttp application: routes and handlers of the REST v6 gateway.

Handlers only orchestrate: parse (``parsing``), authenticate (``auth``), call core over gRPC,
render (``status_view``, ``errors``). Errors are raised as RcsError and rendered by the
``observability`` middleware from the catalogue.
"""

from __future__ import annotations

import datetime as dt
import logging

import grpc
import prometheus_client
from aiohttp import hdrs, web
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateways.auth_revision import AuthRevisionWatch
from gateways.coalescer import SubmitCoalescer
from gateways.partner_auth import PartnerAuth
from gateways.rest.admin import ADMIN, Admin, add_admin_routes
from gateways.rest.admin_mailings import add_mailing_routes
from gateways.rest.admin_reports import add_report_routes
from gateways.rest.batch_v3 import ApiKeyAuth, BatchGateway, add_batch_routes
from gateways.rest.body import BODY_TIMEOUT, read_body
from gateways.rest.dwh_reports import DwhReports, add_dwh_routes
from gateways.rest.errors import json_response
from gateways.rest.http_v5 import add_http_v5_routes
from gateways.rest.observability import MASKED_DEST, PARTNER, observe
from gateways.rest.openapi import add_openapi_route
from gateways.rest.parsing import (
    MAX_BODY_BYTES,
    decode_json,
    parse_basic_auth,
    parse_message_id,
    parse_send,
)
from gateways.rest.pushback import InFlight
from gateways.rest.settings import RestSettings
from gateways.rest.status_view import message_view
from gateways.rpc_errors import rcs_error, result_error
from rcs.core.v1 import auth_service_pb2_grpc, message_service_pb2, message_service_pb2_grpc
from rcs_runtime.errors import RcsError, Reason
from rcs_runtime.logging import mask_number

HEALTH_TIMEOUT_SECONDS = 2.0
log = logging.getLogger("gateways.rest")


class Gateway:
    """What the handlers share: the stubs to core, the auth cache and the call deadline."""

    def __init__(self, settings: RestSettings, channel: grpc.aio.Channel) -> None:
        self.timeout = settings.rpc_timeout_seconds
        self.messages = message_service_pb2_grpc.MessageServiceStub(channel)
        self.health = health_pb2_grpc.HealthStub(channel)
        self.auth = PartnerAuth(
            auth_service_pb2_grpc.AuthServiceStub(channel),
            cache_seconds=settings.auth_cache_seconds,
            timeout_seconds=settings.rpc_timeout_seconds,
        )
        # Single sends of one partner arriving together share one call to core: a gRPC
        # round trip per message was the limit of single-message throughput.
        self.submits = SubmitCoalescer(self.messages, timeout=settings.rpc_timeout_seconds)
        # Shared by the send handlers of every API: push-back beyond it.
        self.in_flight = InFlight(settings.max_in_flight)

    async def submit_one(self, login: str, message: message_service_pb2.MessageSubmission) -> str:
        """The platform id of one accepted message, or its refusal as RcsError. Coalesced
        with the partner's other sends of the moment into one SubmitMessages call."""
        result = await self.submits.submit(login, message)
        if result.HasField("error"):
            raise result_error(result.error.reason, result.error.message, result.error.field)
        if not result.message_id:
            raise RcsError(Reason.INTERNAL, "core accepted the message without an id")
        return result.message_id


GATEWAY = web.AppKey("gateway", Gateway)
AUTH_WATCH = web.AppKey("auth_watch", AuthRevisionWatch)


async def send(request: web.Request) -> web.StreamResponse:
    """POST /api/v6/send: one SMS in Rapporto's v6 body."""
    with request.app[GATEWAY].in_flight.admit():
        return await _send(request)


async def _send(request: web.Request) -> web.StreamResponse:
    gateway = request.app[GATEWAY]
    body = await read_body(request, MAX_BODY_BYTES)
    req = parse_send(decode_json(body, request.content_type, request.charset))
    request[PARTNER] = req.login
    request[MASKED_DEST] = mask_number(req.dest_addr)
    default_ttl = await gateway.auth.authenticate(req.login, req.password, request.remote or "")
    if req.notify_url_ignored:
        # Not the URL itself: it may carry the partner's token.
        log.info("rest_notify_url_ignored", extra={"partner": req.login})
    submission = req.submission(dt.datetime.now(dt.UTC), default_ttl)
    answer = {"mtNum": await gateway.submit_one(req.login, submission)}
    if req.client_ref:
        answer["id"] = req.client_ref
    return json_response(answer)


async def message_status(request: web.Request) -> web.StreamResponse:
    """GET /api/v6/messages/{mtNum}: status and history of one of the caller's messages."""
    gateway = request.app[GATEWAY]
    login, password = parse_basic_auth(request.headers.get(hdrs.AUTHORIZATION))
    request[PARTNER] = login
    await gateway.auth.authenticate(login, password, request.remote or "")
    message_id = parse_message_id(request.match_info["mt_num"])
    if message_id is None:
        raise RcsError(
            Reason.NOT_FOUND, "mtNum is the positive decimal number /api/v6/send returned"
        )
    try:
        response = await gateway.messages.GetMessage(
            message_service_pb2.GetMessageRequest(message_id=message_id, partner=login),
            timeout=gateway.timeout,
        )
    except grpc.aio.AioRpcError as err:
        raise rcs_error(err) from err
    view = message_view(response.message)
    request[MASKED_DEST] = mask_number(response.message.destination)
    return json_response(view)


async def livez(request: web.Request) -> web.StreamResponse:
    """Liveness: the process serves HTTP."""
    return web.Response(text="ok")


async def healthz(request: web.Request) -> web.StreamResponse:
    """Readiness: 200 when core answers its gRPC health check with SERVING, else 503."""
    gateway = request.app[GATEWAY]
    try:
        answer = await gateway.health.Check(
            health_pb2.HealthCheckRequest(service=""),
            timeout=min(gateway.timeout, HEALTH_TIMEOUT_SECONDS),
        )
    except grpc.aio.AioRpcError:
        return web.Response(status=503, text="core unavailable")
    if answer.status != health_pb2.HealthCheckResponse.SERVING:
        return web.Response(status=503, text="core not serving")
    return web.Response(text="ok")


async def metrics(request: web.Request) -> web.StreamResponse:
    return web.Response(
        body=prometheus_client.generate_latest(),
        headers={hdrs.CONTENT_TYPE: prometheus_client.CONTENT_TYPE_LATEST},
    )


def build_app(
    settings: RestSettings,
    channel: grpc.aio.Channel,
    routing: grpc.aio.Channel | None = None,
    dwh: grpc.aio.Channel | None = None,
) -> web.Application:
    """The gateway against core on ``channel`` and routing on ``routing`` (owned, and
    closed, by the caller)."""
    app = web.Application(middlewares=[observe], client_max_size=MAX_BODY_BYTES)
    app[GATEWAY] = Gateway(settings, channel)
    app[BODY_TIMEOUT] = settings.body_timeout_seconds
    app.router.add_post("/api/v6/send", send, name="send")
    app.router.add_get("/api/v6/messages/{mt_num}", message_status, name="message_status")
    add_http_v5_routes(app, app[GATEWAY])
    app.router.add_get("/healthz", healthz, name="healthz")
    app.router.add_get("/livez", livez, name="livez")
    app.router.add_get("/metrics", metrics, name="metrics")
    add_admin_routes(
        app,
        Admin(
            channel,
            cache_seconds=settings.auth_cache_seconds,
            timeout=settings.rpc_timeout_seconds,
            routing=routing,
        ),
    )
    add_report_routes(app, channel)
    add_mailing_routes(app)
    gateway = app[GATEWAY]
    keys = ApiKeyAuth(
        auth_service_pb2_grpc.AuthServiceStub(channel),
        cache_seconds=settings.auth_cache_seconds,
        timeout_seconds=settings.rpc_timeout_seconds,
    )
    add_batch_routes(app, BatchGateway(keys, gateway.messages, gateway.timeout, gateway.in_flight))
    add_dwh_routes(app, DwhReports(dwh))
    add_openapi_route(app)
    watch = AuthRevisionWatch(
        auth_service_pb2_grpc.AuthServiceStub(channel),
        poll_seconds=settings.auth_revision_poll_seconds,
        timeout_seconds=settings.rpc_timeout_seconds,
    )
    for cache in (gateway.auth, app[ADMIN].auth, keys):
        watch.on_change(cache.forget_all)
    app[AUTH_WATCH] = watch

    async def start_watch(app: web.Application) -> None:
        app[AUTH_WATCH].start()

    async def stop_watch(app: web.Application) -> None:
        await app[AUTH_WATCH].stop()

    app.on_startup.append(start_watch)
    app.on_cleanup.append(stop_watch)

    async def close_submits(app: web.Application) -> None:
        await app[GATEWAY].submits.close()

    app.on_shutdown.append(close_submits)
    return app
