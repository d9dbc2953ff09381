"""Settings of the REST gateway process (``RCS_*`` env vars)."""

from __future__ import annotations

from pydantic import Field

from rcs_runtime.settings import RcsSettings


class RestSettings(RcsSettings):
    rest_host: str = "127.0.0.1"
    rest_port: int = Field(default=8080, ge=0, le=65535)
    core_target: str = "127.0.0.1:50051"
    # The routing service, for the admin API's route explain.
    routing_target: str = "127.0.0.1:50052"
    # Deadline of every gRPC call to core.
    rpc_timeout_seconds: float = Field(default=10.0, gt=0)
    # How long a successful login/password check is reused; 0 disables the cache.
    auth_cache_seconds: float = Field(default=30.0, ge=0)
    # How often core is asked for the settings revision; when it changes, the cached
    # logins and API keys are dropped (a changed allowlist or password, a revoked key
    # apply at once). 0 disables the watch.
    auth_revision_poll_seconds: float = Field(default=1.0, ge=0)
