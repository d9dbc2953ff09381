"""Start-up of the WhatsApp simulator (`rcs serve whatsapp-simulator`)."""

from __future__ import annotations

from rcs_simulators.control import run
from rcs_simulators.whatsapp.app import build_app
from rcs_simulators.whatsapp.provider import Business
from rcs_simulators.whatsapp.settings import WhatsAppSimSettings


async def serve(s: WhatsAppSimSettings) -> None:
    business = Business(
        phone_number_id=s.whatsapp_sim_phone_number_id,
        display_number=s.whatsapp_sim_display_number,
        access_token=s.whatsapp_sim_access_token,
        app_secret=s.whatsapp_sim_app_secret,
        webhook_url=s.whatsapp_sim_webhook_url,
        default_outcome=s.whatsapp_sim_default_outcome,
        outcomes=s.outcomes(),
        open_sessions=s.open_sessions(),
        templates=s.templates(),
        deliver_delay=s.whatsapp_sim_deliver_delay_ms / 1000,
        read_delay=s.whatsapp_sim_read_delay_ms / 1000,
        retry_seconds=s.whatsapp_sim_callback_retry_seconds,
        attempts=s.whatsapp_sim_callback_attempts,
    )
    await run(
        build_app(business),
        s.whatsapp_sim_host,
        s.whatsapp_sim_port,
        "whatsapp_simulator",
        business.close,
    )
