"""Settings of the Telegram simulator (``RCS_TELEGRAM_SIM_*``)."""

from __future__ import annotations

from pydantic import model_validator

from rcs_runtime.settings import RcsSettings
from rcs_simulators.faults import FAULTS

# What the simulated subscriber does with a message (per number, else the default): read
# (delivered, then read), delivered, silent (expired at its ttl), revoked, no_telegram (the
# call answers PHONE_NUMBER_NOT_AVAILABLE), error (HTTP 500), and the provider faults of
# rcs_simulators.faults (throttled: 429 FLOOD_WAIT; slow).
OUTCOMES = ("read", "delivered", "silent", "revoked", "no_telegram", "error", *FAULTS)


class TelegramSimSettings(RcsSettings):
    telegram_sim_host: str = "127.0.0.1"
    telegram_sim_port: int = 2399
    # The account's token: calls carry it (Authorization: Bearer), reports are signed with
    # its SHA-256 (X-Request-Signature), as the Telegram Gateway does.
    telegram_sim_token: str = "demo-telegram-token"  # noqa: S105 (the demo's)
    telegram_sim_default_outcome: str = "read"
    telegram_sim_outcomes: str = ""  # "number=outcome,…" (also POST /sim/outcomes)
    telegram_sim_deliver_delay_ms: int = 100
    telegram_sim_read_delay_ms: int = 200
    telegram_sim_callback_retry_seconds: float = 0.5
    telegram_sim_callback_attempts: int = 20

    def outcomes(self) -> dict[str, str]:
        pairs = [p.split("=", 1) for p in self.telegram_sim_outcomes.split(",") if p.strip()]
        return {k.strip(): v.strip() for k, v in pairs}

    @model_validator(mode="after")
    def _check(self) -> TelegramSimSettings:
        if any("=" not in p for p in self.telegram_sim_outcomes.split(",") if p.strip()):
            raise ValueError("RCS_TELEGRAM_SIM_OUTCOMES is number=outcome,number=outcome")
        bad = {self.telegram_sim_default_outcome, *self.outcomes().values()} - set(OUTCOMES)
        if bad:
            raise ValueError(
                f"RCS_TELEGRAM_SIM outcomes {sorted(bad)} unknown; use {', '.join(OUTCOMES)}"
            )
        return self
