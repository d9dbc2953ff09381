"""OpenTelemetry tracing and W3C trace-context propagation over gRPC metadata.

The trace context is also stored with each message (``carrier_for_storage``) so that a
receipt arriving hours later is linked to the submit that started the trace.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor


def setup_tracing(service_name: str, export: str = "none") -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if export == "console":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    elif export != "none":
        raise ValueError(f"RCS_TRACE_EXPORT={export!r}: use 'none' or 'console'")
    trace.set_tracer_provider(provider)


def inject_metadata() -> list[tuple[str, str]]:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return list(carrier.items())


def extract_context(metadata: Mapping[str, str]) -> otel_context.Context:
    return propagate.extract(dict(metadata))


def carrier_for_storage() -> str:
    """The current trace context as a traceparent string ('' when there is none)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent", "")


def context_from_storage(traceparent: str) -> otel_context.Context:
    return propagate.extract({"traceparent": traceparent} if traceparent else {})
