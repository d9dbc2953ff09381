"""Settings of the SMSC simulator (``RCS_SMSC_*``)."""

from __future__ import annotations

from pydantic import model_validator

from rcs_runtime.settings import RcsSettings
from rcs_simulators.smsc.outcomes import OutcomeMix


class SmscSettings(RcsSettings):
    smsc_host: str = "127.0.0.1"
    smsc_port: int = 2776
    # HTTP control: GET /stats, POST /mo, POST /reset. 0 = off.
    smsc_control_port: int = 0
    # Credentials ESMEs must bind with; an empty system_id accepts any.
    smsc_system_id: str = "rcs"
    smsc_password: str = "secret"  # noqa: S105 (a simulator's demo credential)
    smsc_outcomes: str = "delivered=1"
    smsc_receipt_delay_min_ms: int = 50
    smsc_receipt_delay_max_ms: int = 200
    # How the simulator writes its message ids: hex (submit_sm_resp) vs decimal (receipt
    # text) is what real SMSCs get wrong; "mixed" does exactly that.
    smsc_id_format: str = "hex"
    # Submits per second per bind before answering 0x58 throttled; 0 = unlimited.
    smsc_throttle_per_second: int = 0
    smsc_seed: int = 0
    # File keeping the receipts owed across a restart ("": in memory only, lost with the
    # process). `rcs run` keeps it in its data directory.
    smsc_state_file: str = ""

    @model_validator(mode="after")
    def _check(self) -> SmscSettings:
        OutcomeMix.parse(self.smsc_outcomes)  # fail at start-up, with the reason
        if self.smsc_id_format not in ("hex", "decimal", "mixed"):
            raise ValueError("RCS_SMSC_ID_FORMAT must be hex, decimal or mixed")
        if not 0 <= self.smsc_receipt_delay_min_ms <= self.smsc_receipt_delay_max_ms:
            raise ValueError("RCS_SMSC_RECEIPT_DELAY_MIN_MS must be <= ..._MAX_MS")
        return self
