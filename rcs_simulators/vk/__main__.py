"""Start-up of the VK simulator (`rcs serve vk-simulator`)."""

from __future__ import annotations

from rcs_simulators.control import run
from rcs_simulators.vk.app import build_app
from rcs_simulators.vk.community import Community
from rcs_simulators.vk.settings import VkSimSettings


def community_of(s: VkSimSettings) -> Community:
    return Community(
        token=s.vk_sim_access_token,
        group_id=s.vk_sim_group_id,
        callback_url=s.vk_sim_callback_url,
        secret=s.vk_sim_callback_secret,
        default_outcome=s.vk_sim_default_outcome,
        outcomes=s.outcomes(),
        rate_per_second=s.vk_sim_rate_per_second,
        daily_per_user=s.vk_sim_daily_per_user,
        deliver_delay=s.vk_sim_deliver_delay_ms / 1000,
        read_delay=s.vk_sim_read_delay_ms / 1000,
        answer_delay=s.vk_sim_answer_delay_ms / 1000,
        retry_seconds=s.vk_sim_callback_retry_seconds,
        attempts=s.vk_sim_callback_attempts,
    )


async def serve(s: VkSimSettings) -> None:
    community = community_of(s)
    await run(build_app(community), s.vk_sim_host, s.vk_sim_port, "vk_simulator", community.close)
