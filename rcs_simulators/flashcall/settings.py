"""Settings of the FlashingCall simulator (``RCS_FLASHCALL_SIM_*``)."""

from __future__ import annotations

from pydantic import model_validator

from rcs_runtime.settings import RcsSettings

# What happens to a call to a number (per number, else the default): rings (the phone
# rang with the code in the caller number: RINGING), busy (BUSY), failed (FAILED),
# unanswered (nothing within the timeout: TIMEOUT), invalid (the API refuses the number,
# errorCode 11), error (HTTP 500).
OUTCOMES = ("rings", "busy", "failed", "unanswered", "invalid", "error")


class FlashcallSimSettings(RcsSettings):
    flashcall_sim_host: str = "127.0.0.1"
    flashcall_sim_port: int = 2599
    # Requests carry X-Authorization: AccessKey <this>.
    flashcall_sim_access_key: str = "demo-flashcall-key"
    # Where call statuses go, with X-Authorization: AccessKey <callback key>; empty: none.
    flashcall_sim_callback_url: str = ""
    flashcall_sim_callback_key: str = "demo-flashcall-callback-key"
    # The pool the caller numbers come from: this prefix, then the code.
    flashcall_sim_number_prefix: str = "7800100"
    flashcall_sim_default_outcome: str = "rings"
    flashcall_sim_outcomes: str = ""  # "number=outcome,…" (also POST /sim/outcomes)
    # How long a call request takes to answer (a slow provider keeps sends in flight).
    flashcall_sim_answer_delay_ms: int = 0
    flashcall_sim_ring_delay_ms: int = 100
    flashcall_sim_callback_retry_seconds: float = 0.5
    flashcall_sim_callback_attempts: int = 20

    def outcomes(self) -> dict[str, str]:
        pairs = [p.split("=", 1) for p in self.flashcall_sim_outcomes.split(",") if p.strip()]
        return {k.strip(): v.strip() for k, v in pairs}

    @model_validator(mode="after")
    def _check(self) -> FlashcallSimSettings:
        if any("=" not in p for p in self.flashcall_sim_outcomes.split(",") if p.strip()):
            raise ValueError("RCS_FLASHCALL_SIM_OUTCOMES is number=outcome,number=outcome")
        bad = {self.flashcall_sim_default_outcome, *self.outcomes().values()} - set(OUTCOMES)
        if bad:
            raise ValueError(
                f"RCS_FLASHCALL_SIM outcomes {sorted(bad)} unknown; use {', '.join(OUTCOMES)}"
            )
        return self
