"""Structured logs: one JSON object a line, events as snake_case facts.

Message bodies are never logged; phone numbers go through ``mask_number``. Every line
also passes ``redact`` (the event and any exception text), so what a library logs on its
own — a request line quoted by aiohttp's parser — is masked too.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from opentelemetry import trace

from rcs_runtime.redact import redact

_STD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def mask_number(number: str) -> str:
    """Keep the country/operator prefix and the last two digits: 7916*****67."""
    if len(number) <= 6:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 6) + number[-2:]


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": redact(record.getMessage()),
        }
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            doc["trace_id"] = format(span.trace_id, "032x")
        for key, value in record.__dict__.items():
            if key not in _STD_ATTRS:
                doc[key] = value
        if record.exc_info:
            doc["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(doc, default=str)


class RedactingFormatter(logging.Formatter):
    """The plain-text form (``RCS_LOG_JSON=false``), redacted alike."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup_logging(level: str = "INFO", *, json_lines: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
