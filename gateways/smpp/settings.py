"""Settings of the SMPP gateway process (``RCS_SMPP_*``, ``RCS_CORE_TARGET``)."""

from __future__ import annotations

from pydantic import Field, model_validator

from rcs_runtime.settings import RcsSettings


class SmppGatewaySettings(RcsSettings):
    smpp_host: str = "127.0.0.1"
    smpp_port: int = Field(default=2775, ge=0, le=65535)
    core_target: str = "127.0.0.1:50051"
    # The core process receipts and MO are leased from and settled with; empty: core_target.
    # `rcs run` names the core that takes the connector's receipts (at a lower CPU priority),
    # so that delivering reports never holds up a submit in the accepting core's event loop.
    smpp_reports_core_target: str = ""
    # Requests of one session handled at once; beyond it the ESME gets 0x58 (the session's
    # own handling of a peer that ignores its window).
    smpp_window: int = Field(default=50, ge=1)
    # submit_sm PDUs per second per login, over all its sessions; 0 = unlimited.
    smpp_submits_per_second: float = Field(default=0, ge=0)
    # Rapporto: enquire_link after a minute of silence, closed after 30 s without an answer.
    smpp_enquire_link_seconds: float = Field(default=60.0, gt=0)
    smpp_response_timeout_seconds: float = Field(default=30.0, gt=0)
    # Submits to core are coalesced per login: up to this many messages a call, and up to
    # this many calls running at once (more submits wait for one to end and go together).
    smpp_batch_max: int = Field(default=200, ge=1, le=10_000)
    smpp_batch_in_flight: int = Field(default=2, ge=1, le=64)
    # Receipts (deliver_sm) to receiver sessions: leased from core this many at a time,
    # waiting up to wait_seconds for new ones; unsettled leases come back after lease_seconds.
    smpp_receipt_batch: int = Field(default=100, ge=1, le=1000)
    smpp_receipt_wait_seconds: float = Field(default=5.0, ge=0, le=30)
    smpp_receipt_lease_seconds: float = Field(default=60.0, gt=0, le=600)
    # A bound session holds one of its login's slots in core (max_smpp_sessions, counted
    # over every gateway) for this long, renewed every third of it; a gateway that dies
    # frees its slots when it ends. Core takes at most an hour.
    smpp_session_lease_seconds: float = Field(default=60.0, gt=0, le=3600)
    rpc_timeout_seconds: float = Field(default=10.0, gt=0)
    auth_cache_seconds: float = Field(default=30.0, ge=0)
    # How often core is asked for the settings revision; when it changes, cached logins
    # are dropped and bound sessions checked again: those whose password changed or whose
    # address the allowlist no longer takes are unbound. 0 disables the watch.
    auth_revision_poll_seconds: float = Field(default=1.0, ge=0)
    # SMPP over TLS beside the plain port (0: none): PEM certificate chain and key; with a
    # client CA, ESMEs must present a certificate it signed.
    smpp_tls_port: int = Field(default=0, ge=0, le=65535)
    smpp_tls_cert: str = ""
    smpp_tls_key: str = ""
    smpp_tls_client_ca: str = ""

    @model_validator(mode="after")
    def _check_tls(self) -> SmppGatewaySettings:
        if self.smpp_tls_port and not (self.smpp_tls_cert and self.smpp_tls_key):
            raise ValueError("RCS_SMPP_TLS_PORT needs RCS_SMPP_TLS_CERT and RCS_SMPP_TLS_KEY")
        return self
