"""Settings of the Viber simulator (``RCS_VIBER_SIM_*``)."""

from __future__ import annotations

from pydantic import model_validator

from rcs_runtime.settings import RcsSettings

# What the simulated subscriber does with a message (per number, else the default):
# read (delivered, then seen), delivered (never opened), silent (never reached: expired at
# its ttl), failed (a "failed" callback), unsubscribed (send_message answers status 6),
# error (HTTP 500, the provider's own trouble).
OUTCOMES = ("read", "delivered", "silent", "failed", "unsubscribed", "error")


class ViberSimSettings(RcsSettings):
    viber_sim_host: str = "127.0.0.1"
    viber_sim_port: int = 2199
    # The account's token: requests must carry it in X-Viber-Auth-Token, and callbacks are
    # signed with it (HMAC-SHA256, X-Viber-Content-Signature), as Viber does.
    viber_sim_auth_token: str = "demo-viber-token"  # noqa: S105 (the demo account's)
    # The account's webhook (the messenger service's); empty: no callbacks.
    viber_sim_webhook_url: str = ""
    viber_sim_default_outcome: str = "read"
    # "number=outcome,…" (also POST /sim/outcomes).
    viber_sim_outcomes: str = ""
    viber_sim_deliver_delay_ms: int = 100
    viber_sim_seen_delay_ms: int = 200
    # A callback the webhook did not take (not 2xx) is sent again, this often, this long.
    viber_sim_callback_retry_seconds: float = 0.5
    viber_sim_callback_attempts: int = 20

    def outcomes(self) -> dict[str, str]:
        pairs = [p.split("=", 1) for p in self.viber_sim_outcomes.split(",") if p.strip()]
        return {k.strip(): v.strip() for k, v in pairs}

    @model_validator(mode="after")
    def _check(self) -> ViberSimSettings:
        if any("=" not in p for p in self.viber_sim_outcomes.split(",") if p.strip()):
            raise ValueError("RCS_VIBER_SIM_OUTCOMES is number=outcome,number=outcome")
        bad = {self.viber_sim_default_outcome, *self.outcomes().values()} - set(OUTCOMES)
        if bad:
            raise ValueError(
                f"RCS_VIBER_SIM outcomes {sorted(bad)} unknown; use {', '.join(OUTCOMES)}"
            )
        return self
