"""Settings of the PNS simulator (``RCS_PNS_SIM_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import model_validator

from rcs_runtime.settings import RcsSettings

STATES = ("valid", "invalid", "unregistered", "silent")


class PnsSimSettings(RcsSettings):
    pns_sim_host: str = "127.0.0.1"
    # APNs over HTTP/2 + TLS (certificate from the test CA written to cert_dir).
    pns_sim_apns_port: int = 2197
    # FCM (/fcm), HMS (/hms), RuStore (/rustore) and the control API (/control) over HTTP.
    pns_sim_http_port: int = 2198
    # Where the test CA and the server's certificate are written at start (ca.pem is what
    # rpns's RCS_RPNS_APNS_CA_FILE names).
    pns_sim_cert_dir: Path = Path(".data/pns-sim")
    # rpns's SDK endpoints: the simulated devices confirm pushes there. Empty: no device.
    pns_sim_sdk_url: str = ""
    pns_sim_deliver_delay_min_ms: int = 50
    pns_sim_deliver_delay_max_ms: int = 200
    # Share of delivered pushes the user opens (0 to 1).
    pns_sim_open_ratio: float = 0.0
    # Token states, "token=state,…": valid (default), invalid, unregistered, silent
    # (accepted, but the device never confirms). Also POST /control/tokens.
    pns_sim_tokens: str = ""
    # Delay before each answer, to stand for a distant service.
    pns_sim_answer_delay_ms: int = 0

    def token_states(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for item in filter(None, (p.strip() for p in self.pns_sim_tokens.split(","))):
            token, _, state = item.partition("=")
            found[token.strip()] = state.strip()
        return found

    @model_validator(mode="after")
    def _check(self) -> PnsSimSettings:
        bad = {s for s in self.token_states().values() if s not in STATES}
        if bad:
            raise ValueError(f"RCS_PNS_SIM_TOKENS: states are {', '.join(STATES)}, not {bad}")
        if not 0 <= self.pns_sim_deliver_delay_min_ms <= self.pns_sim_deliver_delay_max_ms:
            raise ValueError("RCS_PNS_SIM_DELIVER_DELAY_MIN_MS must be <= ..._MAX_MS")
        if not 0.0 <= self.pns_sim_open_ratio <= 1.0:
            raise ValueError("RCS_PNS_SIM_OPEN_RATIO is between 0 and 1")
        return self
