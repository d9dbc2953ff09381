"""Start-up of the Viber simulator (`rcs serve viber-simulator`)."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from rcs_simulators.viber.app import build_app
from rcs_simulators.viber.provider import Account
from rcs_simulators.viber.settings import ViberSimSettings

log = logging.getLogger(__name__)


async def serve(s: ViberSimSettings) -> None:
    account = Account(
        token=s.viber_sim_auth_token,
        webhook_url=s.viber_sim_webhook_url,
        default_outcome=s.viber_sim_default_outcome,
        outcomes=s.outcomes(),
        deliver_delay=s.viber_sim_deliver_delay_ms / 1000,
        seen_delay=s.viber_sim_seen_delay_ms / 1000,
        retry_seconds=s.viber_sim_callback_retry_seconds,
        attempts=s.viber_sim_callback_attempts,
    )
    runner = web.AppRunner(build_app(account), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, s.viber_sim_host, s.viber_sim_port).start()
    log.info("viber_simulator_serving", extra={"port": s.viber_sim_port})
    try:
        await asyncio.Event().wait()
    finally:
        await account.close()
        await runner.cleanup()
