"""Settings of the REST gateway process (``RCS_*`` env vars)."""

from __future__ import annotations

from pydantic import Field, model_validator

from rcs_runtime.settings import RcsSettings


class RestSettings(RcsSettings):
    rest_host: str = "127.0.0.1"
    rest_port: int = Field(default=8080, ge=0, le=65535)
    core_target: str = "127.0.0.1:50051"
    # The routing service, for the admin API's route explain.
    routing_target: str = "127.0.0.1:50052"
    # rcs_dwh, for the admin API's DWH reports ("": those routes answer 503).
    dwh_target: str = ""
    # Deadline of every gRPC call to core.
    rpc_timeout_seconds: float = Field(default=10.0, gt=0)
    # How long a successful login/password check is reused; 0 disables the cache.
    auth_cache_seconds: float = Field(default=30.0, ge=0)
    # Slow clients (issue 15): a connection has this long to send a request's headers (from
    # connecting, or from its last answer; an idle keep-alive connection is closed after it
    # too), and a request this long to send its body once its headers are in. Beyond
    # max_connections open at once, a new connection is answered 503 and closed.
    header_timeout_seconds: float = Field(default=15.0, gt=0)
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    max_connections: int = Field(default=2000, ge=1)
    # Push-back: partner requests (sends of every API) worked on at once; one more is
    # answered 429 with Retry-After in its API's form (HTTP v5: 408) instead of queueing.
    max_in_flight: int = Field(default=512, ge=1)
    # How often core is asked for the settings revision; when it changes, the cached
    # logins and API keys are dropped (a changed allowlist or password, a revoked key
    # apply at once). 0 disables the watch.
    auth_revision_poll_seconds: float = Field(default=1.0, ge=0)
    # HTTPS beside the plain port (0: none): PEM certificate chain and key; with a client
    # CA, clients must present a certificate it signed.
    rest_tls_port: int = Field(default=0, ge=0, le=65535)
    rest_tls_cert: str = ""
    rest_tls_key: str = ""
    rest_tls_client_ca: str = ""

    @model_validator(mode="after")
    def _check_tls(self) -> RestSettings:
        if self.rest_tls_port and not (self.rest_tls_cert and self.rest_tls_key):
            raise ValueError("RCS_REST_TLS_PORT needs RCS_REST_TLS_CERT and RCS_REST_TLS_KEY")
        return self
