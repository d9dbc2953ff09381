"""gRPC client side: channels that carry the trace context, and the error reason of a failure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from rcs_runtime.errors import CatalogueEntry
from rcs_runtime.grpc_errors import entry_for_grpc
from rcs_runtime.peer_tls import MutualTls
from rcs_runtime.tracing import inject_metadata


def _with_trace_context(details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
    metadata = grpc.aio.Metadata(*(details.metadata or ()))
    for key, value in inject_metadata():
        metadata.add(key, value)
    return grpc.aio.ClientCallDetails(
        details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
    )


# One class per call shape: grpc.aio files an interceptor under the first shape it is an
# instance of only (an ``if/elif``), so one class for both left server-streaming calls
# without the trace context.
class _UnaryTraceContext(grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        return await continuation(_with_trace_context(client_call_details), request)


class _StreamTraceContext(grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        return await continuation(_with_trace_context(client_call_details), request)


def _interceptors() -> list[grpc.aio.ClientInterceptor]:
    return [_UnaryTraceContext(), _StreamTraceContext()]


def open_channel(target: str, tls: MutualTls | None = None) -> grpc.aio.Channel:
    """A channel to ``target``: "host:port", or several "host:port,host:port" (e.g. the
    processes of RCS_ROUTING_PROCESSES), then spread call by call in round robin; with
    ``tls``, over mutual TLS (between installations)."""
    options: list[tuple[str, Any]] = [
        ("grpc.max_receive_message_length", 64 * 1024 * 1024),
        ("grpc.max_send_message_length", 64 * 1024 * 1024),
        # Peers are on the same host or LAN: reconnect to a restarted process within a
        # second, not after gRPC's default backoff that grows to two minutes (calls made
        # meanwhile fail at once with UNAVAILABLE).
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.min_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", 1000),
    ]
    if "," in target:
        target = "ipv4:" + target.replace(" ", "")
        options.append(("grpc.lb_policy_name", "round_robin"))
    if tls is not None:
        return grpc.aio.secure_channel(
            target,
            tls.channel_credentials(),
            interceptors=_interceptors(),
            options=options,
        )
    return grpc.aio.insecure_channel(target, interceptors=_interceptors(), options=options)


def error_reason(err: grpc.aio.AioRpcError) -> str | None:
    """The ErrorInfo reason carried by a failed call, if the server sent one."""
    status = rpc_status.from_call(err)
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return str(info.reason)
    return None


def retry_delay(err: grpc.aio.AioRpcError) -> float:
    """Seconds the server asked to wait before retrying (google.rpc.RetryInfo), or 0."""
    status = rpc_status.from_call(err)
    if status is None:
        return 0.0
    for detail in status.details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return float(info.retry_delay.ToNanoseconds()) / 1e9
    return 0.0


def catalogue_entry(err: grpc.aio.AioRpcError) -> CatalogueEntry:
    return entry_for_grpc(err.code(), error_reason(err))


def worth_retrying(err: grpc.aio.AioRpcError) -> bool:
    """Whether the same call may succeed later: the catalogue's ``retryable`` of the reason
    in the error's ErrorInfo (a transport failure counts as SERVICE_UNAVAILABLE: yes). Our
    clients decide retries with this, never with lists of status codes."""
    return catalogue_entry(err).retryable


def next_attempt_in(err: grpc.aio.AioRpcError, *, soon: float, refused: float) -> float:
    """Seconds a background loop waits before calling again after ``err``.

    A call that may succeed later (``worth_retrying``) is tried again ``soon``, or when the
    server's RetryInfo says if that is later; one refused for good waits ``refused``: only
    a change on the other side (a fix, a new release) can help, so it is not hammered."""
    if worth_retrying(err):
        return max(soon, retry_delay(err))
    return refused


def refusal_text(err: grpc.aio.AioRpcError) -> str:
    """A failed call for a person (the CLI): reason, the server's message, and whether and
    when trying again can help, from the catalogue."""
    entry = catalogue_entry(err)
    wait = retry_delay(err)
    advice = (
        (f"retryable: try again in {wait:g} s" if wait > 0 else "retryable: try again later")
        if entry.retryable
        else "not retryable: change the request"
    )
    return f"{error_reason(err) or err.code().name}: {err.details()} ({advice})"
