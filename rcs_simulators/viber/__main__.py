"""Start-up of the Viber simulator (`rcs serve viber-simulator`)."""

from __future__ import annotations

from rcs_simulators.control import run
from rcs_simulators.viber.app import build_app
from rcs_simulators.viber.provider import Account
from rcs_simulators.viber.settings import ViberSimSettings


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
    await run(
        build_app(account), s.viber_sim_host, s.viber_sim_port, "viber_simulator", account.close
    )
