"""Trace context crosses gRPC hops; logs are JSON, carry the trace id, mask numbers."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.rpc.error_details_pb2 import ErrorInfo
from grpc_status import rpc_status
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from rcs.core.v1 import report_service_pb2, report_service_pb2_grpc
from rcs.routing.v1 import routing_service_pb2, routing_service_pb2_grpc
from rcs_runtime.errors import RcsError, Reason
from rcs_runtime.grpc_client import error_reason, open_channel
from rcs_runtime.logging import JsonFormatter, mask_number
from rcs_runtime.tracing import carrier_for_storage, context_from_storage
from tests.support import Ctx, FakeRouting, start_server

EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def sdk_tracing() -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
    trace.set_tracer_provider(provider)


class CapturingRouting(FakeRouting):
    seen_trace_ids: list[int] = []  # noqa: RUF012

    async def ResolveRoutes(self, request: Any, context: Ctx) -> Any:
        self.seen_trace_ids.append(trace.get_current_span().get_span_context().trace_id)
        return await super().ResolveRoutes(request, context)


async def test_trace_context_propagates_over_grpc() -> None:
    servicer = CapturingRouting()
    server = await start_server(
        lambda s: routing_service_pb2_grpc.add_RoutingServiceServicer_to_server(servicer, s)
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    stub = routing_service_pb2_grpc.RoutingServiceStub(channel)
    with trace.get_tracer("test").start_as_current_span("client") as span:
        await stub.ResolveRoutes(routing_service_pb2.ResolveRoutesRequest())
        client_trace = span.get_span_context().trace_id
    await channel.close()
    await server.stop(0)
    assert servicer.seen_trace_ids == [client_trace]
    server_spans = [s for s in EXPORTER.get_finished_spans() if s.kind == trace.SpanKind.SERVER]
    assert server_spans[-1].name == "/rcs.routing.v1.RoutingService/ResolveRoutes"


def test_stored_trace_context_restores_the_trace() -> None:
    with trace.get_tracer("test").start_as_current_span("accept") as span:
        stored = carrier_for_storage()
    restored = trace.get_current_span(context_from_storage(stored)).get_span_context()
    assert restored.trace_id == span.get_span_context().trace_id
    assert carrier_for_storage() == ""  # outside any span nothing is stored


def test_json_log_has_fields_trace_id_and_no_raw_number() -> None:
    record = logging.makeLogRecord(
        {"msg": "message_accepted", "levelname": "INFO", "dest": mask_number("79161234567")}
    )
    with trace.get_tracer("test").start_as_current_span("x"):
        doc = json.loads(JsonFormatter().format(record))
    assert doc["event"] == "message_accepted"
    assert doc["dest"] == "7916*****67"
    assert len(doc["trace_id"]) == 32


class FailingExport(report_service_pb2_grpc.ReportServiceServicer):
    """A server-streaming RPC that sends one chunk, then fails as ``failure`` says."""

    failure: Exception = RcsError(Reason.INVALID_REQUEST, "no such column", field="filter")

    async def ExportSummary(self, request: Any, context: Ctx) -> AsyncIterator[Any]:
        yield report_service_pb2.ExportSummaryResponse(rows_done=1)
        raise self.failure


async def test_streaming_rpcs_get_the_unary_span_log_and_error_mapping(
    caplog: pytest.LogCaptureFixture,
) -> None:
    servicer = FailingExport()  # type: ignore[abstract]  # only ExportSummary is called
    server = await start_server(
        lambda s: report_service_pb2_grpc.add_ReportServiceServicer_to_server(servicer, s)
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    stub = report_service_pb2_grpc.ReportServiceStub(channel)

    async def export() -> tuple[list[int], grpc.aio.AioRpcError]:
        got: list[int] = []
        try:
            async for chunk in stub.ExportSummary(report_service_pb2.ExportSummaryRequest()):
                got.append(chunk.rows_done)
        except grpc.aio.AioRpcError as err:
            return got, err
        raise AssertionError("the stream ended without its error")

    try:
        with trace.get_tracer("test").start_as_current_span("client") as span:
            got, err = await export()
        # The catalogued error arrives with its code, message and ErrorInfo (reason, field).
        assert got == [1]
        assert (err.code(), err.details()) == (grpc.StatusCode.INVALID_ARGUMENT, "no such column")
        assert error_reason(err) == "INVALID_REQUEST"
        info = next(d for d in rpc_status.from_call(err).details if d.Is(ErrorInfo.DESCRIPTOR))
        unpacked = ErrorInfo()
        info.Unpack(unpacked)
        assert dict(unpacked.metadata) == {"field": "filter"}
        # A server span in the caller's trace, as for unary calls.
        server_spans = [s for s in EXPORTER.get_finished_spans() if s.kind == trace.SpanKind.SERVER]
        assert server_spans[-1].name == "/rcs.core.v1.ReportService/ExportSummary"
        assert server_spans[-1].context.trace_id == span.get_span_context().trace_id
        # An unexpected failure is logged with the method and answered INTERNAL.
        servicer.failure = ZeroDivisionError("bug")
        with caplog.at_level(logging.ERROR, logger="rcs_runtime.grpc_server"):
            _, err = await export()
        assert (err.code(), error_reason(err)) == (grpc.StatusCode.INTERNAL, "INTERNAL")
        failed = [r for r in caplog.records if r.getMessage() == "rpc_failed"]
        assert failed[-1].method == "/rcs.core.v1.ReportService/ExportSummary"  # type: ignore[attr-defined]
    finally:
        await channel.close()
        await server.stop(0)
