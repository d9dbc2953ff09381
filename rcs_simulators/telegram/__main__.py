"""Start-up of the Telegram simulator (`rcs serve telegram-simulator`)."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from rcs_simulators.telegram.app import build_app
from rcs_simulators.telegram.provider import Account
from rcs_simulators.telegram.settings import TelegramSimSettings

log = logging.getLogger(__name__)


async def serve(s: TelegramSimSettings) -> None:
    account = Account(
        token=s.telegram_sim_token,
        default_outcome=s.telegram_sim_default_outcome,
        outcomes=s.outcomes(),
        deliver_delay=s.telegram_sim_deliver_delay_ms / 1000,
        read_delay=s.telegram_sim_read_delay_ms / 1000,
        retry_seconds=s.telegram_sim_callback_retry_seconds,
        attempts=s.telegram_sim_callback_attempts,
    )
    runner = web.AppRunner(build_app(account), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, s.telegram_sim_host, s.telegram_sim_port).start()
    log.info("telegram_simulator_serving", extra={"port": s.telegram_sim_port})
    try:
        await asyncio.Event().wait()
    finally:
        await account.close()
        await runner.cleanup()
