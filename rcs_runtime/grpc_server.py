"""gRPC server bootstrap: one interceptor for errors and tracing, health, graceful drain."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import Token
from typing import Any

import grpc
import psycopg
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from opentelemetry import context as otel_context
from opentelemetry import trace
from psycopg_pool import PoolTimeout

from rcs_runtime.errors import RcsError, Reason
from rcs_runtime.grpc_errors import status_code
from rcs_runtime.peer_tls import MutualTls
from rcs_runtime.tracing import extract_context

log = logging.getLogger(__name__)
Ctx = grpc.aio.ServicerContext[Any, Any]
ERROR_DOMAIN = "rcs.example"
# A database that is down or restarting: answered SERVICE_UNAVAILABLE, not INTERNAL.
DATABASE_DOWN = (psycopg.OperationalError, PoolTimeout)
_DOWN = "the database is unavailable; retry later"
_TRACER = trace.get_tracer("rcs.grpc")


def rich_status(err: RcsError) -> grpc.Status:
    info = error_details_pb2.ErrorInfo(
        reason=err.reason, domain=ERROR_DOMAIN, metadata={"field": err.field} if err.field else {}
    )
    detail = any_pb2.Any()
    detail.Pack(info)
    status = status_pb2.Status(code=status_code(err.entry.grpc_code).value[0], message=err.message)
    status.details.append(detail)
    if err.retry_after > 0:
        retry = error_details_pb2.RetryInfo()
        retry.retry_delay.FromNanoseconds(int(err.retry_after * 1e9))
        wait = any_pb2.Any()
        wait.Pack(retry)
        status.details.append(wait)
    result: grpc.Status = rpc_status.to_status(status)
    return result


async def _answer_failure(err: Exception, context: Ctx, method: str) -> None:
    """The one error mapping of every call shape; always raises (the abort). RcsError → rich
    status with ErrorInfo; a database that is down → SERVICE_UNAVAILABLE; anything else
    logged and answered INTERNAL."""
    if isinstance(err, RcsError):
        await context.abort_with_status(rich_status(err))
    if isinstance(err, (grpc.aio.AbortError, grpc.RpcError)):
        raise err
    if isinstance(err, DATABASE_DOWN):
        # PostgreSQL restarting or unreachable: the caller may retry (REST 503 code 1, SMPP
        # 0x08); the pool reconnects by itself.
        log.warning("rpc_database_unavailable", extra={"method": method, "error": str(err)})
        await context.abort_with_status(rich_status(RcsError(Reason.SERVICE_UNAVAILABLE, _DOWN)))
    log.exception("rpc_failed", extra={"method": method})
    await context.abort_with_status(rich_status(RcsError(Reason.INTERNAL)))


def _caller_context(context: Ctx) -> Token[otel_context.Context]:
    """Attaches the caller's trace context; the token is for ``otel_context.detach``."""
    return otel_context.attach(
        extract_context({k: str(v) for k, v in (context.invocation_metadata() or ())})
    )


# Both wrappers: the caller's trace context, a server span, the one error mapping. Written
# out rather than shared through an async context manager, which cost ~5 µs a call.
def _wrap_unary(
    fn: Callable[[Any, Ctx], Awaitable[Any]], method: str
) -> Callable[[Any, Ctx], Awaitable[Any]]:
    """Unary and client-streaming calls (the request is a message or an iterator)."""

    async def handler(request: Any, context: Ctx) -> Any:
        token = _caller_context(context)
        try:
            with _TRACER.start_as_current_span(method, kind=trace.SpanKind.SERVER):
                try:
                    return await fn(request, context)
                except Exception as err:
                    await _answer_failure(err, context, method)
        finally:
            otel_context.detach(token)

    return handler


def _wrap_stream(
    fn: Callable[[Any, Ctx], AsyncIterator[Any]], method: str
) -> Callable[[Any, Ctx], AsyncIterator[Any]]:
    """Server-streaming calls: the span lasts until the last message is sent, and an error
    after some messages ends the stream with the same rich status as a unary call's."""

    async def handler(request: Any, context: Ctx) -> AsyncIterator[Any]:
        token = _caller_context(context)
        try:
            with _TRACER.start_as_current_span(method, kind=trace.SpanKind.SERVER):
                try:
                    async for item in fn(request, context):
                        yield item
                except Exception as err:
                    await _answer_failure(err, context, method)
        finally:
            otel_context.detach(token)

    return handler


# Each call shape: the handler's attribute, its factory, and our wrapper (a request iterator
# is as good as a request to the unary one; a response iterator needs the streaming one).
_SHAPES: tuple[tuple[str, Callable[..., Any], Callable[[Any, str], Any]], ...] = (
    ("unary_unary", grpc.unary_unary_rpc_method_handler, _wrap_unary),
    ("unary_stream", grpc.unary_stream_rpc_method_handler, _wrap_stream),
    ("stream_unary", grpc.stream_unary_rpc_method_handler, _wrap_unary),
    ("stream_stream", grpc.stream_stream_rpc_method_handler, _wrap_stream),
)


class ErrorAndTracingInterceptor(grpc.aio.ServerInterceptor):
    """Turns RcsError into a rich status with ErrorInfo and opens a server span per call,
    for unary and streaming calls alike."""

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        for shape, make, wrap in _SHAPES:
            fn = getattr(handler, shape)
            if fn is not None:
                wrapped: grpc.RpcMethodHandler[Any, Any] = make(
                    wrap(fn, handler_call_details.method),
                    request_deserializer=handler.request_deserializer,
                    response_serializer=handler.response_serializer,
                )
                return wrapped
        return handler


class GrpcServer:
    """A grpc.aio server with the interceptor and health service; ``stop`` drains."""

    def __init__(self, bind: str, tls: MutualTls | None = None) -> None:
        self.server = grpc.aio.server(
            interceptors=[ErrorAndTracingInterceptor()],
            options=[
                ("grpc.max_receive_message_length", 64 * 1024 * 1024),
                ("grpc.max_send_message_length", 64 * 1024 * 1024),
            ],
        )
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        if tls is None:
            self.port = self.server.add_insecure_port(bind)
        else:  # peers must present a certificate of our CA
            self.port = self.server.add_secure_port(bind, tls.server_credentials())
        if self.port == 0:
            raise OSError(f"cannot listen on {bind}: is another process using it?")

    async def start(self) -> None:
        await self.server.start()
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)

    async def stop(self, grace: float = 5.0) -> None:
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)

    async def until_terminated(self) -> None:
        """Returns when the server has stopped. Shielded: cancelling a bare
        ``wait_for_termination()`` (SIGTERM cancels the process's TaskGroup) cancels grpc's
        own shutdown future, and ``stop()`` then raises CancelledError at once (grpcio 1.85),
        skipping the cleanup after it."""
        await asyncio.shield(self.server.wait_for_termination())
