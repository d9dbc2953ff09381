"""Process start-up shared by every component: logging, tracing, metrics, signals."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Coroutine
from typing import Any

import uvloop

from rcs_runtime.logging import setup_logging
from rcs_runtime.metrics import start_metrics_endpoint
from rcs_runtime.settings import RcsSettings
from rcs_runtime.tracing import setup_tracing


def run_service(name: str, settings: RcsSettings, main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` until it returns or SIGINT/SIGTERM arrives, then let it clean up."""
    if settings.nice:
        os.nice(settings.nice)
    setup_logging(settings.log_level, json_lines=settings.log_json)
    setup_tracing(f"rcs-{name}", settings.trace_export)
    start_metrics_endpoint(settings.metrics_port)

    async def _guarded() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await main

    # uvloop: the services are event-loop bound (many small reads, writes and callbacks),
    # and its loop costs a fraction of the default one's CPU per turn.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_guarded())
