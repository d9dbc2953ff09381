"""Trace context crosses gRPC hops; logs are JSON, carry the trace id, mask numbers."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from rcs.routing.v1 import routing_service_pb2, routing_service_pb2_grpc
from rcs_runtime.grpc_client import open_channel
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
