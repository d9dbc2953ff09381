"""Start-up of the FlashingCall simulator (`rcs serve flashcall-simulator`)."""

from __future__ import annotations

from rcs_simulators.control import run
from rcs_simulators.flashcall.app import build_app
from rcs_simulators.flashcall.provider import Provider
from rcs_simulators.flashcall.settings import FlashcallSimSettings


def provider_of(s: FlashcallSimSettings) -> Provider:
    return Provider(
        key=s.flashcall_sim_access_key,
        callback_url=s.flashcall_sim_callback_url,
        callback_key=s.flashcall_sim_callback_key,
        number_prefix=s.flashcall_sim_number_prefix,
        default_outcome=s.flashcall_sim_default_outcome,
        outcomes=s.outcomes(),
        ring_delay=s.flashcall_sim_ring_delay_ms / 1000,
        answer_delay=s.flashcall_sim_answer_delay_ms / 1000,
        retry_seconds=s.flashcall_sim_callback_retry_seconds,
        attempts=s.flashcall_sim_callback_attempts,
    )


async def serve(s: FlashcallSimSettings) -> None:
    provider = provider_of(s)
    await run(
        build_app(provider),
        s.flashcall_sim_host,
        s.flashcall_sim_port,
        "flashcall_simulator",
        provider.close,
    )
