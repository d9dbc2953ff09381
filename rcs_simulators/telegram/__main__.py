"""Start-up of the Telegram simulator (`rcs serve telegram-simulator`)."""

from __future__ import annotations

from rcs_simulators.control import run
from rcs_simulators.telegram.app import build_app
from rcs_simulators.telegram.provider import Account
from rcs_simulators.telegram.settings import TelegramSimSettings


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
    await run(
        build_app(account),
        s.telegram_sim_host,
        s.telegram_sim_port,
        "telegram_simulator",
        account.close,
    )
