"""Settings of the VK simulator (``RCS_VK_SIM_*``)."""

from __future__ import annotations

from pydantic import model_validator

from rcs_runtime.settings import RcsSettings

# What the simulated user behind a number does (per number, else the default): read
# (delivered, then read), delivered (never opened), inactive (not on VK for more than 7
# days: refused), nouser (no VK account with that number: refused), barred (privacy
# settings forbid the community's messages: refused), error (HTTP 500).
OUTCOMES = ("read", "delivered", "inactive", "nouser", "barred", "error")


class VkSimSettings(RcsSettings):
    vk_sim_host: str = "127.0.0.1"
    vk_sim_port: int = 2499
    # The community's access token (access_token parameter or Authorization: Bearer).
    vk_sim_access_token: str = "demo-vk-token"  # noqa: S105 (the demo community's)
    vk_sim_group_id: int = 1
    # The community's Callback API server (the messenger service's) and its secret key,
    # sent in every callback's "secret"; empty URL: no callbacks.
    vk_sim_callback_url: str = ""
    vk_sim_callback_secret: str = "demo-vk-secret"  # noqa: S105
    vk_sim_default_outcome: str = "read"
    vk_sim_outcomes: str = ""  # "number=outcome,…" (also POST /sim/outcomes)
    # http_vk.rst: at most 50 messages a second from one community, 5 a day to one user.
    vk_sim_rate_per_second: int = 50
    vk_sim_daily_per_user: int = 5
    # How long messages.send takes to answer (a slow provider keeps sends in flight).
    vk_sim_answer_delay_ms: int = 0
    vk_sim_deliver_delay_ms: int = 100
    vk_sim_read_delay_ms: int = 200
    vk_sim_callback_retry_seconds: float = 0.5
    vk_sim_callback_attempts: int = 20

    def outcomes(self) -> dict[str, str]:
        pairs = [p.split("=", 1) for p in self.vk_sim_outcomes.split(",") if p.strip()]
        return {k.strip(): v.strip() for k, v in pairs}

    @model_validator(mode="after")
    def _check(self) -> VkSimSettings:
        if any("=" not in p for p in self.vk_sim_outcomes.split(",") if p.strip()):
            raise ValueError("RCS_VK_SIM_OUTCOMES is number=outcome,number=outcome")
        bad = {self.vk_sim_default_outcome, *self.outcomes().values()} - set(OUTCOMES)
        if bad:
            raise ValueError(
                f"RCS_VK_SIM outcomes {sorted(bad)} unknown; use {', '.join(OUTCOMES)}"
            )
        return self
