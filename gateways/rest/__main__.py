"""Start-up of the REST gateway process (``rcs serve rest`` or ``python -m gateways.rest``)."""

from __future__ import annotations

import asyncio
import logging

from gateways.rest.app import build_app
from gateways.rest.listen import start_sites
from gateways.rest.parse_errors import PartnerSafeRunner
from gateways.rest.settings import RestSettings
from rcs_runtime.grpc_client import open_channel
from rcs_runtime.process import run_service

log = logging.getLogger("gateways.rest")
SHUTDOWN_SECONDS = 5.0
LINGER_SECONDS = 1.0


async def serve(settings: RestSettings) -> None:
    """Serve HTTP on rest_host:rest_port until cancelled, then drain and close."""
    channel = open_channel(settings.core_target)
    routing = open_channel(settings.routing_target)
    dwh = open_channel(settings.dwh_target) if settings.dwh_target else None
    runner = PartnerSafeRunner(
        build_app(settings, channel, routing, dwh),
        access_log=None,
        handle_signals=False,
        shutdown_timeout=SHUTDOWN_SECONDS,
        # A connection waiting for a request's headers longer than this is closed.
        keepalive_timeout=settings.header_timeout_seconds,
        # After an answer sent before the body ended (too large, too slow), the rest of the
        # body is read and dropped this long so the client sees the answer, then closed.
        lingering_time=LINGER_SECONDS,
    )
    try:
        await runner.setup()
        await start_sites(runner, settings)
        log.info(
            "rest_serving",
            extra={"addresses": [str(a) for a in runner.addresses], "core": settings.core_target},
        )
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await channel.close()
        await routing.close()
        if dwh is not None:
            await dwh.close()
        log.info("rest_stopped")


def main() -> None:
    settings = RestSettings()
    run_service("rest", settings, serve(settings))


if __name__ == "__main__":
    main()
