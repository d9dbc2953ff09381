"""Start-up of the SMPP gateway (``rcs serve smpp`` or ``python -m gateways.smpp``)."""

from __future__ import annotations

import asyncio
import logging

from gateways.smpp.server import SmppGateway
from gateways.smpp.settings import SmppGatewaySettings
from rcs_runtime.grpc_client import open_channel
from rcs_runtime.process import run_service

log = logging.getLogger("gateways.smpp")


async def serve(settings: SmppGatewaySettings) -> None:
    """Serve SMPP on smpp_host:smpp_port until cancelled, then close sessions and drain."""
    channel = open_channel(settings.core_target)
    reports_target = settings.smpp_reports_core_target or settings.core_target
    reports = None if reports_target == settings.core_target else open_channel(reports_target)
    gateway = SmppGateway(settings, channel, reports_channel=reports)
    try:
        port = await gateway.start()
        log.info(
            "smpp_serving",
            extra={"port": port, "core": settings.core_target, "reports_core": reports_target},
        )
        await asyncio.Event().wait()
    finally:
        await gateway.stop()
        await channel.close()
        if reports is not None:
            await reports.close()
        log.info("smpp_stopped")


def main() -> None:
    settings = SmppGatewaySettings()
    run_service("smpp", settings, serve(settings))


if __name__ == "__main__":
    main()
