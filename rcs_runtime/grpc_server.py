"""gRPC server bootstrap: one interceptor for errors and tracing, health, graceful drain."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
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


def _wrap_unary(
    fn: Callable[[Any, Ctx], Awaitable[Any]], method: str
) -> Callable[[Any, Ctx], Awaitable[Any]]:
    tracer = trace.get_tracer("rcs.grpc")

    async def handler(request: Any, context: Ctx) -> Any:
        token = otel_context.attach(
            extract_context({k: str(v) for k, v in (context.invocation_metadata() or ())})
        )
        try:
            with tracer.start_as_current_span(method, kind=trace.SpanKind.SERVER):
                try:
                    return await fn(request, context)
                except RcsError as err:
                    await context.abort_with_status(rich_status(err))
                except (grpc.aio.AbortError, grpc.RpcError):
                    raise
                except DATABASE_DOWN as err:
                    # PostgreSQL restarting or unreachable: the caller may retry (REST 503
                    # code 1, SMPP 0x08); the pool reconnects by itself.
                    log.warning(
                        "rpc_database_unavailable", extra={"method": method, "error": str(err)}
                    )
                    await context.abort_with_status(
                        rich_status(RcsError(Reason.SERVICE_UNAVAILABLE, _DOWN))
                    )
                except Exception:
                    log.exception("rpc_failed", extra={"method": method})
                    await context.abort_with_status(rich_status(RcsError(Reason.INTERNAL)))
        finally:
            otel_context.detach(token)

    return handler


def _wrap_stream(
    fn: Callable[[Any, Ctx], AsyncIterator[Any]], method: str
) -> Callable[[Any, Ctx], AsyncIterator[Any]]:
    async def handler(request: Any, context: Ctx) -> AsyncIterator[Any]:
        try:
            async for item in fn(request, context):
                yield item
        except RcsError as err:
            await context.abort_with_status(rich_status(err))
        except DATABASE_DOWN:
            await context.abort_with_status(
                rich_status(RcsError(Reason.SERVICE_UNAVAILABLE, _DOWN))
            )

    return handler


def _wrap_stream_in(
    fn: Callable[[Any, Ctx], Awaitable[Any]], method: str
) -> Callable[[Any, Ctx], Awaitable[Any]]:
    """Client-streaming calls (e.g. MailingService.CreateMailing): errors as for unary."""

    async def handler(request_iterator: Any, context: Ctx) -> Any:
        try:
            return await fn(request_iterator, context)
        except RcsError as err:
            await context.abort_with_status(rich_status(err))
        except (grpc.aio.AbortError, grpc.RpcError):
            raise
        except Exception:
            log.exception("rpc_failed", extra={"method": method})
            await context.abort_with_status(rich_status(RcsError(Reason.INTERNAL)))

    return handler


class ErrorAndTracingInterceptor(grpc.aio.ServerInterceptor):
    """Turns RcsError into a rich status with ErrorInfo and opens a server span per call."""

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
        method = handler_call_details.method
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                _wrap_unary(handler.unary_unary, method),  # type: ignore[arg-type]
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                _wrap_stream(handler.unary_stream, method),  # type: ignore[arg-type]
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(
                _wrap_stream_in(handler.stream_unary, method),  # type: ignore[arg-type]
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
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
