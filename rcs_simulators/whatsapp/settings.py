"""Settings of the WhatsApp simulator (``RCS_WHATSAPP_SIM_*``)."""

from __future__ import annotations

from pydantic import model_validator

from rcs_runtime.settings import RcsSettings
from rcs_simulators.faults import FAULTS

# What the simulated subscriber does with a message (per number, else the default):
# read (delivered, then read), delivered (never opened), silent (never reached: no status
# after "sent"), failed (a "failed" status, 131026 not on WhatsApp), unregistered (the
# messages call answers 400 131026), error (HTTP 500, the provider's own trouble), and
# the provider faults of rcs_simulators.faults (throttled: 429 code 130429; slow).
OUTCOMES = ("read", "delivered", "silent", "failed", "unregistered", "error", *FAULTS)


class WhatsAppSimSettings(RcsSettings):
    whatsapp_sim_host: str = "127.0.0.1"
    whatsapp_sim_port: int = 2299
    # The business number the simulator serves (the {phone-number-id} of the path) and its
    # display number (webhooks' metadata.display_phone_number).
    whatsapp_sim_phone_number_id: str = "100000000000001"
    whatsapp_sim_display_number: str = "79000000000"
    # The system user's access token the calls must carry (Authorization: Bearer ...).
    whatsapp_sim_access_token: str = "demo-whatsapp-token"  # noqa: S105 (the demo's)
    # The app secret that signs the webhooks (X-Hub-Signature-256), as Meta does.
    whatsapp_sim_app_secret: str = "demo-whatsapp-secret"  # noqa: S105 (the demo's)
    # The app's webhook (the messenger service's); empty: no notifications.
    whatsapp_sim_webhook_url: str = ""
    whatsapp_sim_default_outcome: str = "read"
    # "number=outcome,…" (also POST /sim/outcomes).
    whatsapp_sim_outcomes: str = ""
    # Numbers that wrote to the business within the last 24 hours at start-up (also POST
    # /sim/reply): a session (non-template) message to any other number fails with 131047.
    # "*" opens every subscriber's window.
    whatsapp_sim_open_sessions: str = "*"
    # Approved templates (name,name,…): a template message naming another is refused 132001.
    whatsapp_sim_templates: str = "otp,order_ready"
    whatsapp_sim_deliver_delay_ms: int = 100
    whatsapp_sim_read_delay_ms: int = 200
    # A notification the webhook did not take (not 2xx) is sent again, this often, this long.
    whatsapp_sim_callback_retry_seconds: float = 0.5
    whatsapp_sim_callback_attempts: int = 20

    def outcomes(self) -> dict[str, str]:
        pairs = [p.split("=", 1) for p in self.whatsapp_sim_outcomes.split(",") if p.strip()]
        return {k.strip(): v.strip() for k, v in pairs}

    def open_sessions(self) -> set[str]:
        return {n.strip() for n in self.whatsapp_sim_open_sessions.split(",") if n.strip()}

    def templates(self) -> set[str]:
        return {n.strip() for n in self.whatsapp_sim_templates.split(",") if n.strip()}

    @model_validator(mode="after")
    def _check(self) -> WhatsAppSimSettings:
        if any("=" not in p for p in self.whatsapp_sim_outcomes.split(",") if p.strip()):
            raise ValueError("RCS_WHATSAPP_SIM_OUTCOMES is number=outcome,number=outcome")
        bad = {self.whatsapp_sim_default_outcome, *self.outcomes().values()} - set(OUTCOMES)
        if bad:
            raise ValueError(
                f"RCS_WHATSAPP_SIM outcomes {sorted(bad)} unknown; use {', '.join(OUTCOMES)}"
            )
        return self
