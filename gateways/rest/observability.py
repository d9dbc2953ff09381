"""Per-request metrics, the ``rest_request`` log line, a server span, and error rendering.

One middleware does all four so that every response — handler result, catalogued error,
router 404/405 or unexpected exception — is counted, logged and traced exactly once.
Labels are bounded: route names (not paths), HTTP statuses and Rapporto codes.
"""

from __future__ import annotations

import functools
import logging
import time

import prometheus_client
from aiohttp import web
from aiohttp.typedefs import Handler
from opentelemetry import context as otel_context
from opentelemetry import trace

from gateways.rest.errors import error_body, json_response, response_for
from rcs_runtime.errors import CATALOGUE, RcsError, Reason
from rcs_runtime.tracing import extract_context, recording

log = logging.getLogger("gateways.rest")
# Once, not per request: get_tracer builds a tracer each call (this proxy follows the
# provider set later at start-up).
_tracer = trace.get_tracer("rcs.rest")

REQUESTS = prometheus_client.Counter(
    "rcs_rest_requests",
    "REST requests by route, HTTP status and Rapporto code (0 = success).",
    ["route", "status", "code"],
)
LATENCY = prometheus_client.Histogram(
    "rcs_rest_request_duration_seconds",
    "REST request latency by route.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

# What a handler tells the log line; never message text or passwords.
PARTNER = web.RequestKey("partner", str)
MASKED_DEST = web.RequestKey("masked_dest", str)
# Routes whose 401 answers carry a Basic challenge.
BASIC_ROUTES = frozenset(
    {
        "message_status",
        "admin_partners",
        "admin_create_partner",
        "admin_partner",
        "admin_update_partner",
        "admin_blacklist",
        "admin_blacklist_add",
        "admin_blacklist_remove",
        "admin_revisions",
        "admin_rollback",
        "admin_operators",
        "admin_put_operator",
        "admin_interfaces",
        "admin_put_interface",
        "admin_delete_interface",
        "admin_policy",
        "admin_update_policy",
    }
)
QUIET_ROUTES = frozenset({"healthz", "livez", "metrics"})
_TRACE_HEADERS = ("traceparent", "tracestate")


@functools.cache
def _requests(route: str, status: int, code: int) -> prometheus_client.Counter:
    """The counter child of one outcome, looked up once (labels() costs a lock and a hash
    of its strings per call)."""
    return REQUESTS.labels(route, str(status), str(code))


@functools.cache
def _latency(route: str) -> prometheus_client.Histogram:
    return LATENCY.labels(route)


def route_name(request: web.Request) -> str:
    name = request.match_info.route.name
    return name if name else "unmatched"


def _http_error(exc: web.HTTPException) -> tuple[web.Response, int]:
    entry = CATALOGUE[Reason.NOT_FOUND] if exc.status == 404 else CATALOGUE[Reason.INVALID_REQUEST]
    headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
    body = error_body(entry, exc.reason)
    return json_response(body, status=exc.status, headers=headers), entry.rest_code


async def _handle(
    request: web.Request, handler: Handler, route: str
) -> tuple[web.StreamResponse, int, str]:
    """The handler's response, or the catalogue's for what it raised; with the Rapporto
    code and the refusal reason for the metrics and the log."""
    try:
        return await handler(request), 0, ""
    except RcsError as err:
        return response_for(err, challenge=route in BASIC_ROUTES), err.entry.rest_code, err.reason
    except web.HTTPException as exc:
        response, code = _http_error(exc)
        return response, code, ""
    except Exception:
        log.exception("rest_unhandled", extra={"route": route})
        internal = RcsError(Reason.INTERNAL)
        return response_for(internal), internal.entry.rest_code, internal.reason


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = route_name(request)
    started = time.perf_counter()
    headers = request.headers
    carrier = {k: headers[k] for k in _TRACE_HEADERS if k in headers}
    # The caller's trace context goes on to core either way; our own server span is only
    # made when spans are recorded (it cost a gateway a tenth of its CPU per request).
    token = otel_context.attach(extract_context(carrier)) if carrier else None
    try:
        if recording():
            with _tracer.start_as_current_span(
                f"{request.method} {route}", kind=trace.SpanKind.SERVER
            ) as span:
                response, code, reason = await _handle(request, handler, route)
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", response.status)
        else:
            response, code, reason = await _handle(request, handler, route)
    finally:
        if token is not None:
            otel_context.detach(token)
    elapsed = time.perf_counter() - started
    _requests(route, response.status, code).inc()
    _latency(route).observe(elapsed)
    level = logging.DEBUG if route in QUIET_ROUTES else logging.INFO
    if not log.isEnabledFor(level):
        return response
    log.log(
        level,
        "rest_request",
        extra={
            "route": route,
            "method": request.method,
            "status": response.status,
            "code": code,
            "reason": reason,
            "latency_ms": round(elapsed * 1000, 2),
            "partner": request.get(PARTNER, ""),
            "dest": request.get(MASKED_DEST, ""),
            "remote": request.remote or "",
        },
    )
    return response
