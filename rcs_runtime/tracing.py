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
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON

_recording = True  # until setup_tracing says otherwise (tests install their own provider)


def recording() -> bool:
    """Whether spans are recorded and exported; when not, a per-request span only costs CPU
    (trace context still propagates from the request's own headers)."""
    return _recording


def setup_tracing(service_name: str, export: str = "none") -> None:
    global _recording
    if export not in ("none", "console"):
        raise ValueError(f"RCS_TRACE_EXPORT={export!r}: use 'none' or 'console'")
    # With nowhere to export, spans are not recorded (ALWAYS_OFF): trace context is still
    # created and propagated (logs and stored messages keep their trace ids), but the
    # per-request span objects, a tenth of a gateway's CPU, are not built.
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name}),
        sampler=ALWAYS_ON if export == "console" else ALWAYS_OFF,
    )
    _recording = export == "console"
    if export == "console":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
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
